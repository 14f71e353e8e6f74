// SQLSTATE codes the pooler itself sends.
export const SqlState = {
  ProtocolViolation: '08P01',
  ConnectionFailure: '08006',
  ConnectionException: '08000',
  TooManyConnections: '53300',
  InvalidAuthorizationSpecification: '28000',
  InvalidPassword: '28P01',
  AdminShutdown: '57P01',
  QueryCanceled: '57014',
  OperatorIntervention: '57000',
  FeatureNotSupported: '0A000',
  InternalError: 'XX000',
  UndefinedObject: '42704',
  CantChangeRuntimeParam: '55P02',
  InvalidParameterValue: '22023',
  SyntaxError: '42601',
  InFailedSqlTransaction: '25P02',
  DuplicatePreparedStatement: '42P05',
  InvalidSqlStatementName: '26000',
} as const;
export type SqlStateCode = (typeof SqlState)[keyof typeof SqlState];
