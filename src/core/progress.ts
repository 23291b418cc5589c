// Progress of long transfers (a database dump into git, a stored dump into a
// restore): the number the CLI turns into bytes/s and an ETA. Whoever moves
// the bytes calls the listener; it must be cheap (it is called per chunk).

export interface Transfer {
  /** 'dump': from the database into the store; 'restore': from the store into the database. */
  direction: 'dump' | 'restore';
  /** Bytes moved so far. */
  bytes: number;
  /** Bytes in all when known (a stored dump's size), else null. */
  total: number | null;
  /** Date.now() when the transfer began. */
  startedAt: number;
}

export type TransferListener = (progress: Transfer) => void;
