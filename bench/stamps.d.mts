export const STAMP: { readonly issued: 1; readonly posted: 2; readonly received: 3; readonly handler: 4; readonly resolved: 5 };
export function stamp(code: number): void;
export function recordStamps(on: boolean): void;
export function takeStamps(): number[];
export function installStamps(convoy: { PortTransport: { prototype: object }; TcpTransport: { prototype: object } }): void;
