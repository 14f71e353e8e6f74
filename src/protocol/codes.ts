// Message type bytes and special request codes of the PostgreSQL wire protocol.

/** Frontend (client → server) message types that the pooler looks at. */
export const FrontendCode = {
  Query: 0x51, // Q
  Parse: 0x50, // P
  Bind: 0x42, // B
  Execute: 0x45, // E
  Describe: 0x44, // D
  Close: 0x43, // C
  Flush: 0x48, // H
  Sync: 0x53, // S
  FunctionCall: 0x46, // F
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyFail: 0x66, // f
  Terminate: 0x58, // X
  Password: 0x70, // p (also SASLInitialResponse / SASLResponse)
} as const;

/** Backend (server → client) message types that the pooler looks at or writes. */
export const BackendCode = {
  Authentication: 0x52, // R
  BackendKeyData: 0x4b, // K
  ParameterStatus: 0x53, // S
  ReadyForQuery: 0x5a, // Z
  ErrorResponse: 0x45, // E
  NoticeResponse: 0x4e, // N
  NegotiateProtocolVersion: 0x76, // v
  RowDescription: 0x54, // T
  DataRow: 0x44, // D
  CommandComplete: 0x43, // C
  EmptyQueryResponse: 0x49, // I
  CopyInResponse: 0x47, // G
} as const;

/** Authentication request codes (the int32 after 'R'). */
export const AuthCode = {
  Ok: 0,
  CleartextPassword: 3,
  MD5Password: 5,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

export const SSL_REQUEST_CODE = 80877103; // 1234 << 16 | 5679
export const GSSENC_REQUEST_CODE = 80877104; // 1234 << 16 | 5680
export const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678
export const PROTOCOL_3_0 = 0x00030000;
export const PROTOCOL_3_2 = 0x00030002;

/** PostgreSQL bounds a startup packet's body (after the length word) to 4..10000 bytes. */
export const MAX_STARTUP_PACKET_LENGTH = 10000 + 4;
/** Longest cancel key protocol 3.2 allows. */
export const MAX_CANCEL_KEY_LENGTH = 256;
