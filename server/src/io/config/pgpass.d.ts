declare module 'pgpass' {
  interface PgpassConnInfo {
    host?: string;
    port?: number | string;
    database?: string;
    user?: string;
  }
  function pgpass(connInfo: PgpassConnInfo, callback: (password: string | undefined) => void): void;
  export = pgpass;
}
