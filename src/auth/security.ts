/**
 * The security of every operation, keyed by path template then lower-case method, as the code
 * generator writes it (`*.security.ts`). Each value lists the alternatives (OR); each alternative
 * names the schemes that must all be sent (AND). `[]` means the operation takes no credentials; an
 * alternative `{}` means anonymous access is allowed.
 */
export type OperationSecurityMap = Readonly<Record<string, Readonly<Record<string, readonly SecurityAlternative[]>>>>;

/** One alternative: scheme name → scopes; all named schemes are needed together. */
export type SecurityAlternative = Readonly<Record<string, readonly string[]>>;
