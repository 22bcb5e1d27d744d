// @ts-check
/**
 * One GraphQL subscription over WebSocket with the graphql-transport-ws protocol (the graphql-ws
 * library's, which the service speaks): the token goes in `connection_init`. Small enough to
 * carry here rather than ship a client library to the browser.
 */

/**
 * @typedef {{
 *   next: (data: any) => void,
 *   error: (message: string, code: string) => void,
 *   closed: (code: number, reason: string) => void,
 *   open?: () => void,
 * }} Handlers
 */

/**
 * Subscribes; returns a function that ends the subscription and closes the socket.
 * @param {string} token
 * @param {string} query
 * @param {Record<string, unknown>} variables
 * @param {Handlers} on
 */
export function subscribe(token, query, variables, on) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const socket = new WebSocket(url, 'graphql-transport-ws');
  let ended = false;
  /** @param {unknown} message */
  const send = (message) => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message));
  socket.addEventListener('open', () => send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  socket.addEventListener('message', (event) => {
    let message;
    try {
      message = JSON.parse(String(event.data));
    } catch {
      return;
    }
    switch (message.type) {
      case 'connection_ack':
        send({ id: '1', type: 'subscribe', payload: { query, variables } });
        on.open?.();
        break;
      case 'ping':
        send({ type: 'pong' });
        break;
      case 'next':
        if (message.payload?.errors?.length) {
          const e = message.payload.errors[0];
          on.error(e.message, e.extensions?.code ?? 'UNKNOWN');
        } else on.next(message.payload?.data);
        break;
      case 'error': {
        const e = Array.isArray(message.payload) ? message.payload[0] : message.payload;
        on.error(e?.message ?? 'the subscription failed', e?.extensions?.code ?? 'UNKNOWN');
        break;
      }
      case 'complete':
        on.closed(1000, 'the service ended the subscription');
        break;
    }
  });
  socket.addEventListener('close', (event) => {
    if (!ended) on.closed(event.code, event.reason);
  });
  return () => {
    ended = true;
    send({ id: '1', type: 'complete' });
    socket.close(1000, 'closed by the console');
  };
}
