// The transaction status byte of ReadyForQuery.
export const TxStatus = {
  /** 'I': not in a transaction block. */
  Idle: 0x49,
  /** 'T': in a transaction block. */
  InTransaction: 0x54,
  /** 'E': in a failed transaction block (queries rejected until it ends). */
  Failed: 0x45,
} as const;
export type TxStatusByte = (typeof TxStatus)[keyof typeof TxStatus];
