/**
 * The part of `ws` (the WebSocket library client-node connects with) the loopback cluster uses to answer
 * `exec` as the API server does; the package ships no types of its own.
 */
declare module 'ws' {
  import type { IncomingMessage } from 'http';
  import type { Duplex } from 'stream';

  export class WebSocket {
    readonly protocol: string;
    send(data: Buffer | string): void;
    close(): void;
    on(event: 'close', listener: () => void): this;
  }

  export class WebSocketServer {
    constructor(options: {
      noServer: true;
      handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
    });
    handleUpgrade(
      request: IncomingMessage,
      socket: Duplex,
      head: Buffer,
      callback: (ws: WebSocket, request: IncomingMessage) => void
    ): void;
    close(): void;
  }
}
