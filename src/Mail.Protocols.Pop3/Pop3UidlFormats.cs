using System.Globalization;

namespace Mail.Protocols.Pop3;

/// <summary>Makes the UIDL of a message (RFC 1939 §7) from its folder's UIDVALIDITY and its UID.</summary>
/// <param name="uidValidity">The INBOX's UIDVALIDITY.</param>
/// <param name="uid">The message's UID.</param>
public delegate string Pop3UidlFormat(uint uidValidity, uint uid);

/// <summary>
/// UIDL formats other servers use, so a mailbox moved from one of them keeps its UIDLs. Any other is a lambda away,
/// e.g. <c>(validity, uid) =&gt; $"{validity}.{uid}"</c>.
/// </summary>
public static class Pop3UidlFormats
{
    /// <summary>
    /// Dovecot's default (<c>pop3_uidl_format = %08Xu%08Xv</c>): the UID, then UIDVALIDITY, each as 8 hex digits.
    /// Dovecot writes them in lower case despite the X (checked against Dovecot 2.3 in the migration test).
    /// </summary>
    public static Pop3UidlFormat Dovecot { get; } = (uidValidity, uid) => string.Create(CultureInfo.InvariantCulture, $"{uid:x8}{uidValidity:x8}");

    /// <summary>Whether <paramref name="uidl"/> is a valid UIDL: 1 to 70 characters in 0x21–0x7E.</summary>
    public static bool IsValid(string? uidl)
    {
        if (uidl is null || uidl.Length is < 1 or > 70)
        {
            return false;
        }
        foreach (var c in uidl)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }
        return true;
    }
}
