CREATE TABLE "settled_watermark" (
	"one" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"revision" bigint NOT NULL,
	"published_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "settled_watermark_one_row" CHECK ("settled_watermark"."one")
);
