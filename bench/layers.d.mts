/** The layers under convoy's user API, loaded from the bench's build (see layers.mjs). */
export function loadLayers(
  index?: string,
): Promise<Record<string, unknown> & { PortTransport: { prototype: object }; TcpTransport: { prototype: object } }>;
