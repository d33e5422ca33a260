namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// The header of a literal: <c>{n}</c> (synchronizing: the server answers "+" before the client sends the octets),
/// <c>{n+}</c> (non-synchronizing, RFC 7888 LITERAL+/LITERAL-), or either form after "~" (literal8, RFC 3516, which
/// may hold NUL octets).
/// </summary>
/// <param name="Length">The number of octets announced (0 to 2^63-1, RFC 9051 <c>number64</c>).</param>
/// <param name="IsSynchronizing">True for <c>{n}</c>: the client waits for a "+" continuation before sending the octets.</param>
/// <param name="IsBinary">True for literal8 (<c>~{n}</c>).</param>
internal readonly record struct LiteralHeader(long Length, bool IsSynchronizing, bool IsBinary);
