namespace Mail.Protocols.Storage;

/// <summary>
/// What a keyword is: an IMAP atom (RFC 9051 <c>flag-keyword = atom</c>), so that every protocol can send it back
/// as it was stored. Every store checks the keywords it is given with <see cref="Validate"/> and refuses the others
/// with <see cref="MailboxStoreError.InvalidKeyword"/>.
/// </summary>
public static class MessageKeywords
{
    /// <summary>
    /// Whether <paramref name="keyword"/> is an IMAP atom: one or more printable US-ASCII characters (0x21–0x7E)
    /// other than the atom-specials <c>( ) { % * " \ ]</c>. So it cannot start with a backslash (that is a system
    /// flag), and holds no space, control or non-ASCII character.
    /// </summary>
    public static bool IsValid(string? keyword)
    {
        if (string.IsNullOrEmpty(keyword))
        {
            return false;
        }
        foreach (var c in keyword)
        {
            if (c is <= ' ' or >= '\u007f' or '(' or ')' or '{' or '%' or '*' or '"' or '\\' or ']')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Checks every keyword and returns them without duplicates (compared case-insensitively, the first spelling
    /// kept); null gives an empty array.
    /// </summary>
    /// <exception cref="MailboxStoreException"><see cref="MailboxStoreError.InvalidKeyword"/> for the first keyword that is not an atom.</exception>
    public static string[] Validate(IReadOnlyCollection<string>? keywords)
    {
        if (keywords is null || keywords.Count == 0)
        {
            return [];
        }
        foreach (var keyword in keywords)
        {
            if (!IsValid(keyword))
            {
                throw new MailboxStoreException(MailboxStoreError.InvalidKeyword, $"'{keyword}' is not a valid keyword: keywords are IMAP atoms.");
            }
        }
        return [.. keywords.Distinct(StringComparer.OrdinalIgnoreCase)];
    }
}
