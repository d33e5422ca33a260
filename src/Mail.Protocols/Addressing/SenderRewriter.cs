using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Mail.Protocols.Addressing;

/// <summary>
/// The Sender Rewriting Scheme (SRS), compatible with libsrs2 and postsrsd: rewrites the reverse path of a forwarded
/// message into an address of the forwarder's domain that carries the original sender, and turns a bounce addressed
/// to such an address back into the original sender. Pure and thread-safe; it neither sends nor stores anything.
/// </summary>
/// <remarks>
/// <para>
/// A first forward gives <c>SRS0=HHHH=TT=orig-domain=orig-local@forwarder</c>: <c>HHHH</c> is the start of the base64
/// HMAC-SHA1, keyed with the secret, of the timestamp, original domain and original local part written one after the
/// other in lower case (relays may change the case of a local part); <c>TT</c> is the day number modulo 1024 in two
/// base32 characters. Forwarding an SRS0 address of another domain again gives
/// <c>SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@forwarder</c>, whose hash covers the first forwarder's
/// domain and the rest; reversing it gives back the SRS0 address at the first forwarder, which checks its own hash and
/// timestamp. Forwarding an SRS1 address keeps its inner part and signs it anew.
/// </para>
/// <para>
/// Local parts are carried as opaque text: <c>=</c>, <c>+</c> and anything else in them is kept as is. A quoted local
/// part is unquoted first, and a rewritten or reversed local part that is not a dot-atom is quoted again, so every
/// result is itself a valid RFC 5321 mailbox. Domains are lower-cased.
/// </para>
/// <para>
/// The 64-octet local-part limit of RFC 5321 §4.5.3.1.1 is not enforced: an SRS0 local part is the original local part
/// and domain plus 14 octets, and, like every SRS implementation, this one prefers an over-long local part (which
/// common MTAs accept) to an SPF failure. Only a result over the 254 octets a path can carry is refused
/// (<see cref="SenderRewritingFailure.TooLong"/>).
/// </para>
/// </remarks>
public sealed class SenderRewriter
{
    // Two base32 characters of day number: the timestamp wraps every 1024 days.
    private const int TimeSlots = 1024;
    private const int SecondsPerDay = 86400;
    private const string Base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private const int MaxAddressOctets = 254; // a 256-octet path less its angle brackets (RFC 5321 §4.5.3.1.3)

    private readonly byte[][] _secrets;
    private readonly string _domain;
    private readonly int _hashLength;
    private readonly int _maxAgeDays;
    private readonly char _separator;
    private readonly TimeProvider _time;

    /// <summary>The forwarder's domain (lower case): rewritten addresses end in it, and only its addresses reverse.</summary>
    public string Domain => _domain;

    /// <summary>Creates a rewriter from a copy of <paramref name="options"/>.</summary>
    /// <param name="options">The secret, the forwarder's domain, the hash length and the validity window.</param>
    /// <param name="timeProvider">The clock for timestamps; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException"><see cref="SenderRewritingOptions.Secret"/> or <see cref="SenderRewritingOptions.Domain"/> is not set, or a retired secret is too short.</exception>
    public SenderRewriter(SenderRewritingOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Secret is not { } secret)
        {
            throw new ArgumentException("SenderRewritingOptions.Secret is required.", nameof(options));
        }
        _domain = options.Domain ?? throw new ArgumentException("SenderRewritingOptions.Domain is required.", nameof(options));
        var secrets = new List<byte[]> { (byte[])secret.Clone() };
        foreach (var retired in options.RetiredSecrets)
        {
            if (retired is null || retired.Length < SenderRewritingOptions.MinSecretLength)
            {
                throw new ArgumentException($"Every retired secret must be at least {SenderRewritingOptions.MinSecretLength} octets.", nameof(options));
            }
            secrets.Add((byte[])retired.Clone());
        }
        _secrets = [.. secrets];
        _hashLength = options.HashLength;
        _maxAgeDays = (int)options.MaxAge.TotalDays;
        _separator = options.Separator;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// The reverse path to use for a copy forwarded to another domain. The null reverse path (empty) and an address
    /// already in the forwarder's domain come back unchanged.
    /// </summary>
    /// <param name="reversePath">The MAIL FROM address without angle brackets; empty for <c>&lt;&gt;</c>.</param>
    /// <returns>The rewritten address, or <paramref name="reversePath"/> itself when it needs no rewriting.</returns>
    /// <exception cref="FormatException">The address cannot be read, or the result would be too long; see <see cref="TryForward"/>.</exception>
    public string Forward(string reversePath) =>
        TryForward(reversePath, out var rewritten, out var failure) ? rewritten : throw new FormatException($"The reverse path cannot be rewritten: {failure}.");

    /// <summary>
    /// Rewrites a reverse path for a forwarded copy, as <see cref="Forward"/> does, reporting a failure instead of
    /// throwing: <see cref="SenderRewritingFailure.Malformed"/> or <see cref="SenderRewritingFailure.TooLong"/>.
    /// </summary>
    /// <param name="reversePath">The MAIL FROM address without angle brackets; empty for <c>&lt;&gt;</c>.</param>
    /// <param name="rewritten">The address to send from, or empty on failure.</param>
    /// <param name="failure">Why it failed, or <see cref="SenderRewritingFailure.None"/>.</param>
    /// <returns>True when <paramref name="rewritten"/> may be used.</returns>
    public bool TryForward(string reversePath, out string rewritten, out SenderRewritingFailure failure)
    {
        ArgumentNullException.ThrowIfNull(reversePath);
        failure = SenderRewritingFailure.None;
        rewritten = reversePath;
        if (reversePath.Length == 0)
        {
            return true; // bounces are never bounced, so there is nothing to route back
        }
        if (!TrySplit(reversePath, out var local, out var domain))
        {
            return Fail(SenderRewritingFailure.Malformed, out rewritten, out failure);
        }
        if (domain == _domain)
        {
            return true; // SPF already passes for our own domain
        }

        string srsLocal;
        if (TryFirstForwarder(local, domain, out var host, out var user))
        {
            // Already rewritten by another forwarder: point back at the first one rather than nesting further.
            srsLocal = string.Concat("SRS1", _separator.ToString(), Hash(_secrets[0], host, user), "=", host, "=", user);
        }
        else
        {
            var stamp = Timestamp();
            srsLocal = string.Concat("SRS0", _separator.ToString(), Hash(_secrets[0], stamp, domain, local), "=", stamp, "=", domain, "=", local);
        }
        var result = Format(srsLocal) + "@" + _domain;
        if (Encoding.UTF8.GetByteCount(result) > MaxAddressOctets)
        {
            return Fail(SenderRewritingFailure.TooLong, out rewritten, out failure);
        }
        rewritten = result;
        return true;
    }

    /// <summary>
    /// Reverses an SRS address that a bounce was sent to. An SRS0 address gives the original sender once its hash and
    /// timestamp check; an SRS1 address gives the SRS0 address at the first forwarder once its hash checks (that
    /// forwarder checks the timestamp). The domain on the right of the <c>@</c> is not checked: routing only our own
    /// domain's addresses here is the caller's part.
    /// </summary>
    /// <param name="address">The recipient of the bounce, without angle brackets.</param>
    /// <param name="original">The address to route the bounce to, or empty on failure.</param>
    /// <param name="failure">Why it failed, or <see cref="SenderRewritingFailure.None"/>.</param>
    /// <returns>True when <paramref name="original"/> may be used.</returns>
    public bool TryReverse(string address, out string original, out SenderRewritingFailure failure)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!TrySplit(address, out var local, out _))
        {
            return Fail(SenderRewritingFailure.Malformed, out original, out failure);
        }
        if (!TryTag(local, out var tag, out var rest))
        {
            return Fail(SenderRewritingFailure.NotRewritten, out original, out failure);
        }

        if (tag == '1')
        {
            if (!TrySplitSrs1(rest, out var hash1, out var host1, out var user1))
            {
                return Fail(SenderRewritingFailure.Malformed, out original, out failure);
            }
            if (!HashMatches(hash1, host1, user1))
            {
                return Fail(SenderRewritingFailure.BadHash, out original, out failure);
            }
            original = Format("SRS0" + user1) + "@" + LowerAscii(host1);
            failure = SenderRewritingFailure.None;
            return true;
        }

        // SRS0: hash, timestamp and domain end at the next '='; everything after the third is the original local part.
        var fields = rest.AsSpan(1);
        if (!TakeField(ref fields, out var hash) || !TakeField(ref fields, out var stamp) || !TakeField(ref fields, out var host) || fields.IsEmpty)
        {
            return Fail(SenderRewritingFailure.Malformed, out original, out failure);
        }
        if (stamp.Length != 2 || Base32Value(stamp[0]) < 0 || Base32Value(stamp[1]) < 0)
        {
            return Fail(SenderRewritingFailure.Malformed, out original, out failure);
        }
        var user = fields.ToString();
        if (!HashMatches(hash.ToString(), stamp.ToString(), host.ToString(), user))
        {
            return Fail(SenderRewritingFailure.BadHash, out original, out failure);
        }
        var then = (Base32Value(stamp[0]) << 5) | Base32Value(stamp[1]);
        var age = (CurrentSlot() - then + TimeSlots) % TimeSlots; // wraps: a stamp from "before" 0 is from the last cycle
        if (age > _maxAgeDays)
        {
            return Fail(SenderRewritingFailure.Expired, out original, out failure);
        }
        original = Format(user) + "@" + LowerAscii(host.ToString());
        failure = SenderRewritingFailure.None;
        return true;
    }

    /// <summary>Whether an address's local part has the SRS0 or SRS1 form; see <see cref="LooksRewritten"/>.</summary>
    /// <param name="address">An address without angle brackets.</param>
    /// <returns>True when the local part starts with an SRS tag; nothing is verified.</returns>
    public static bool IsRewritten(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var at = address.LastIndexOf('@');
        return at > 0 && LooksRewritten(address[..at]);
    }

    /// <summary>
    /// Whether a local part starts with <c>SRS0</c> or <c>SRS1</c> (any case) and a separator (<c>=</c>, <c>+</c> or
    /// <c>-</c>), quoted or not: a quick test before <see cref="TryReverse"/>, which verifies.
    /// </summary>
    /// <param name="localPart">The local part, as written in the address.</param>
    /// <returns>True when the local part has the SRS form.</returns>
    public static bool LooksRewritten(string localPart)
    {
        ArgumentNullException.ThrowIfNull(localPart);
        var text = localPart.AsSpan();
        if (text.StartsWith('"'))
        {
            text = text[1..];
        }
        return text.Length >= 5 && text[..3].Equals("SRS", StringComparison.OrdinalIgnoreCase) && text[3] is '0' or '1' && IsSeparator(text[4]);
    }

    private static bool Fail(SenderRewritingFailure reason, out string result, out SenderRewritingFailure failure)
    {
        result = "";
        failure = reason;
        return false;
    }

    private static bool IsSeparator(char c) => c is '=' or '+' or '-';

    // "SRS0=..." or "SRS1=...": the tag's digit and the rest from the separator on (the separator is part of what SRS1 signs).
    private static bool TryTag(string local, out char tag, out string rest)
    {
        if (local.Length >= 5 && local.AsSpan(0, 3).Equals("SRS", StringComparison.OrdinalIgnoreCase) && local[3] is '0' or '1' && IsSeparator(local[4]))
        {
            tag = local[3];
            rest = local[4..];
            return true;
        }
        tag = default;
        rest = "";
        return false;
    }

    // An SRS1 rest "=HHHH=host=user": all three present; the user part is the first forwarder's SRS0 part after its
    // tag, so it is a separator (which it keeps) and more, else the local part is no SRS1 we could route back.
    private static bool TrySplitSrs1(string rest, out string hash, out string host, out string user)
    {
        var fields = rest.AsSpan(1);
        if (TakeField(ref fields, out var h) && TakeField(ref fields, out var d) && fields.Length > 1 && IsSeparator(fields[0]))
        {
            (hash, host, user) = (h.ToString(), d.ToString(), fields.ToString());
            return true;
        }
        (hash, host, user) = ("", "", "");
        return false;
    }

    // The first forwarder and the part SRS1 signs, for an address another forwarder rewrote: of an SRS0 address, its
    // domain and everything after the tag (opaque: only that forwarder can check it); of an SRS1 address, the fields it
    // already carries. An SRS1 local part with a field missing is treated as an ordinary local part.
    private static bool TryFirstForwarder(string local, string domain, out string host, out string user)
    {
        (host, user) = ("", "");
        if (!TryTag(local, out var tag, out var rest))
        {
            return false;
        }
        if (tag == '1')
        {
            if (!TrySplitSrs1(rest, out _, out host, out user) || !IsDomain(host))
            {
                return false;
            }
            host = LowerAscii(host);
            return true;
        }
        (host, user) = (domain, rest);
        return rest.Length > 1;
    }

    // The text up to the next '=' (non-empty), and the span after it.
    private static bool TakeField(ref ReadOnlySpan<char> fields, out ReadOnlySpan<char> field)
    {
        var end = fields.IndexOf('=');
        if (end <= 0)
        {
            field = default;
            return false;
        }
        field = fields[..end];
        fields = fields[(end + 1)..];
        return true;
    }

    private static int Base32Value(char c) => Base32.IndexOf(char.ToUpperInvariant(c), StringComparison.Ordinal);

    private int CurrentSlot() => (int)(_time.GetUtcNow().ToUnixTimeSeconds() / SecondsPerDay % TimeSlots);

    private string Timestamp()
    {
        var slot = CurrentSlot();
        return string.Concat(Base32[slot >> 5].ToString(), Base32[slot & 31].ToString());
    }

    /// <summary>The first <paramref name="hashLength"/> base64 characters of HMAC-SHA1 over the fields, concatenated and lower-cased.</summary>
    internal static string ComputeHash(byte[] secret, int hashLength, params ReadOnlySpan<string> fields)
    {
        var data = Encoding.UTF8.GetBytes(LowerAscii(string.Concat(fields)));
        // SRS fixes HMAC-SHA1 for interoperability; collisions in SHA-1 do not weaken HMAC-SHA1 as a MAC.
#pragma warning disable CA5350
        var mac = HMACSHA1.HashData(secret, data);
#pragma warning restore CA5350
        return Convert.ToBase64String(mac)[..hashLength];
    }

    private string Hash(byte[] secret, params ReadOnlySpan<string> fields) => ComputeHash(secret, _hashLength, fields);

    // Case-insensitive, as libsrs2: relays that fold the case of a local part must not break bounces.
    // Every secret is tried, with a fixed-time comparison, so timing tells nothing about the expected hash.
    private bool HashMatches(string given, params ReadOnlySpan<string> fields)
    {
        if (given.Length < _hashLength)
        {
            return false;
        }
        var presented = Encoding.UTF8.GetBytes(LowerAscii(given[.._hashLength]));
        var matched = false;
        foreach (var secret in _secrets)
        {
            var expected = Encoding.ASCII.GetBytes(LowerAscii(Hash(secret, fields)));
            matched |= CryptographicOperations.FixedTimeEquals(presented, expected);
        }
        return matched;
    }

    // Splits at the last '@'; unquotes a quoted local part; refuses control characters and empty parts.
    private static bool TrySplit(string address, [NotNullWhen(true)] out string? local, [NotNullWhen(true)] out string? domain)
    {
        (local, domain) = (null, null);
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
        {
            return false;
        }
        foreach (var c in address)
        {
            if (c < ' ' || c == '\u007f')
            {
                return false;
            }
        }
        var host = address.AsSpan(at + 1);
        if (!IsDomain(host))
        {
            return false;
        }
        var text = address[..at];
        if (text[0] == '"')
        {
            if (!TryUnquote(text, out text))
            {
                return false;
            }
        }
        local = text;
        domain = LowerAscii(host.ToString());
        return true;
    }

    // A domain the fields of an SRS address can carry and give back: dot-separated labels of letters, digits, hyphens
    // and (for internationalised domains) non-ASCII characters, or an address literal in brackets. Never '=', the
    // field separator, so a domain cannot be read back differently from how it was written.
    private static bool IsDomain(ReadOnlySpan<char> host)
    {
        if (host.Length >= 2 && host[0] == '[' && host[^1] == ']')
        {
            foreach (var c in host[1..^1])
            {
                if (c is < '!' or > '~' or '[' or ']' or '\\' or '=')
                {
                    return false;
                }
            }
            return host.Length > 2;
        }
        var labelLength = 0;
        foreach (var c in host)
        {
            if (c == '.')
            {
                if (labelLength == 0)
                {
                    return false;
                }
                labelLength = 0;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c == '-' || (c > '\u007f' && !char.IsControl(c) && !char.IsWhiteSpace(c) && c != '\ufffd'))
            {
                labelLength++;
            }
            else
            {
                return false;
            }
        }
        return labelLength > 0;
    }

    private static bool TryUnquote(string quoted, out string text)
    {
        text = "";
        if (quoted.Length < 3 || quoted[^1] != '"')
        {
            return false;
        }
        var builder = new StringBuilder(quoted.Length);
        for (var i = 1; i < quoted.Length - 1; i++)
        {
            var c = quoted[i];
            if (c == '\\')
            {
                if (++i == quoted.Length - 1)
                {
                    return false; // the backslash escapes the closing quote
                }
                c = quoted[i];
            }
            else if (c == '"')
            {
                return false;
            }
            builder.Append(c);
        }
        text = builder.ToString();
        return true;
    }

    // A local part as it must be written: as is when it is a dot-atom (RFC 5321 §4.1.2, with RFC 6531's UTF-8), else quoted.
    private static string Format(string local)
    {
        if (IsDotAtom(local))
        {
            return local;
        }
        var builder = new StringBuilder(local.Length + 4).Append('"');
        foreach (var c in local)
        {
            if (c is '"' or '\\')
            {
                builder.Append('\\');
            }
            builder.Append(c);
        }
        return builder.Append('"').ToString();
    }

    private static bool IsDotAtom(string text)
    {
        if (text.Length == 0 || text[0] == '.' || text[^1] == '.' || text.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c >= 0x80 || "!#$%&'*+-/=?^_`{|}~.".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }
        return true;
    }

    // ASCII only, as libsrs2's tolower in the C locale: UTF-8 local parts hash the same on every forwarder.
    private static string LowerAscii(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('A', 'Z'))
        {
            return text;
        }
        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsAsciiLetterUpper(source[i]) ? (char)(source[i] | 0x20) : source[i];
            }
        });
    }
}
