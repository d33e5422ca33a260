using System.Globalization;
using System.Text;

namespace Mail.Protocols.Addressing;

/// <summary>
/// Domains compared as the DNS sees them. An internationalised domain can be written with Unicode labels
/// (<c>bücher.example</c>, as SMTPUTF8 clients send it) or with their ASCII form (<c>xn--bcher-kva.example</c>, as
/// every other client, the DNS and most configuration files do): both are one domain (RFC 5890, RFC 6531 §3.2), so every
/// set of domains and every address lookup compares the ASCII forms (IDNA2008 with UTS #46's mapping, through
/// <see cref="IdnMapping"/>), case-insensitively. Address literals (<c>[192.0.2.1]</c>) and names that are not valid
/// domains are compared as written.
/// </summary>
public static class DomainName
{
    /// <summary>
    /// The ASCII form of <paramref name="domain"/>: the same string when it is ASCII already (no allocation) or an
    /// address literal, each U-label as its A-label otherwise (lower case); a name IDNA refuses, or one that is not
    /// written in U-labels (full-width look-alikes, say), is returned as written.
    /// </summary>
    public static string ToAscii(string domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (Ascii.IsValid(domain) || domain.StartsWith('['))
        {
            return domain;
        }
        try
        {
            // A new mapping per call: IdnMapping does not say it may be shared between threads, and this path is taken
            // only for a domain that is not ASCII. Only a name written in U-labels (in any letter case) is another
            // spelling of its A-labels: one that needs UTS #46's mapping first (full-width letters, ideographic full
            // stops, compatibility characters, decomposed accents) is not a U-label, not what RFC 6531 lets a client
            // send, and a look-alike of a domain must not become that domain.
            var idn = new IdnMapping();
            var ascii = idn.GetAscii(domain);
            return string.Equals(idn.GetUnicode(ascii), domain, StringComparison.OrdinalIgnoreCase) ? ascii : domain;
        }
        catch (ArgumentException)
        {
            return domain;
        }
    }

    /// <summary>
    /// <paramref name="address"/> with its domain (after the last '@') in ASCII form; the local part is left as it is
    /// (it is the receiving domain's to interpret). The same string when there is nothing to convert.
    /// </summary>
    public static string ToAsciiAddress(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var at = address.LastIndexOf('@');
        if (at < 0 || Ascii.IsValid(address.AsSpan(at + 1)))
        {
            return address;
        }
        var domain = address[(at + 1)..];
        var ascii = ToAscii(domain);
        return ReferenceEquals(ascii, domain) ? address : string.Concat(address.AsSpan(0, at + 1), ascii);
    }

    /// <summary>Domains equal when their ASCII forms are, ignoring case: the comparer of every set of domains.</summary>
    public static StringComparer Comparer { get; } = new AsciiFormComparer();

    /// <summary>
    /// Addresses equal when their local parts are equal ignoring case and their domains are equal by
    /// <see cref="Comparer"/>.
    /// </summary>
    public static StringComparer AddressComparer { get; } = new AddressFormComparer();

    private sealed class AsciiFormComparer : StringComparer
    {
        public override int Compare(string? x, string? y) =>
            x is null || y is null ? string.Compare(x, y, StringComparison.Ordinal) : string.Compare(ToAscii(x), ToAscii(y), StringComparison.OrdinalIgnoreCase);

        public override bool Equals(string? x, string? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && string.Equals(ToAscii(x), ToAscii(y), StringComparison.OrdinalIgnoreCase));

        public override int GetHashCode(string obj)
        {
            ArgumentNullException.ThrowIfNull(obj);
            return StringComparer.OrdinalIgnoreCase.GetHashCode(ToAscii(obj));
        }
    }

    private sealed class AddressFormComparer : StringComparer
    {
        public override int Compare(string? x, string? y) =>
            x is null || y is null ? string.Compare(x, y, StringComparison.Ordinal) : string.Compare(ToAsciiAddress(x), ToAsciiAddress(y), StringComparison.OrdinalIgnoreCase);

        public override bool Equals(string? x, string? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && string.Equals(ToAsciiAddress(x), ToAsciiAddress(y), StringComparison.OrdinalIgnoreCase));

        public override int GetHashCode(string obj)
        {
            ArgumentNullException.ThrowIfNull(obj);
            return StringComparer.OrdinalIgnoreCase.GetHashCode(ToAsciiAddress(obj));
        }
    }
}
