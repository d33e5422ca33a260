using System.Text;
using Mail.Protocols.Storage;
using Mail.Protocols.Text;

namespace Mail.Protocols.Imap.Protocol;

/// <summary>The productions of RFC 9051 §9 that give values: flags, dates, mailbox names.</summary>
internal ref partial struct ImapReader
{
    private static readonly string[] s_months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

    /// <summary>
    /// <c>flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension</c>: a
    /// system flag (any case) or a keyword (an atom, kept as spelled). Other flag-extensions, \Recent among them,
    /// cannot be set by a client and are refused.
    /// </summary>
    public void ReadFlag(out MessageFlags flag, out string? keyword)
    {
        keyword = null;
        if (TryRead((byte)'\\'))
        {
            var name = ReadRun(AtomChar);
            flag = Ascii.EqualsIgnoreCase(name, "Seen"u8) ? MessageFlags.Seen
                : Ascii.EqualsIgnoreCase(name, "Answered"u8) ? MessageFlags.Answered
                : Ascii.EqualsIgnoreCase(name, "Flagged"u8) ? MessageFlags.Flagged
                : Ascii.EqualsIgnoreCase(name, "Deleted"u8) ? MessageFlags.Deleted
                : Ascii.EqualsIgnoreCase(name, "Draft"u8) ? MessageFlags.Draft
                : MessageFlags.None;
            if (flag == MessageFlags.None)
            {
                ImapParseException.Throw(name.IsEmpty ? "Invalid flag" : "Unknown system flag");
            }
            return;
        }
        flag = MessageFlags.None;
        keyword = Encoding.ASCII.GetString(ReadAtom("Invalid flag"));
    }

    /// <summary><c>flag-list = "(" [flag *(SP flag)] ")"</c>.</summary>
    public ImapFlags ReadFlagList()
    {
        ReadOpenParen("Expected a flag list");
        if (TryReadCloseParen())
        {
            return ImapFlags.None;
        }
        var flags = ReadFlagSequence();
        ReadCloseParen("Expected \")\" after the flags");
        return flags;
    }

    /// <summary><c>flag *(SP flag)</c> (STORE's alternative to a flag list).</summary>
    public ImapFlags ReadFlagSequence()
    {
        var flags = MessageFlags.None;
        List<string>? keywords = null;
        HashSet<string>? seen = null;
        do
        {
            ReadFlag(out var flag, out var keyword);
            flags |= flag;
            if (keyword is not null)
            {
                keywords ??= [];
                seen ??= new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                if (seen.Add(keyword))
                {
                    keywords.Add(keyword);
                }
            }
        }
        while (TryReadSpace());
        return new ImapFlags(flags, keywords is null ? [] : keywords.ToArray());
    }

    /// <summary><c>date = date-text / DQUOTE date-text DQUOTE</c>, <c>date-text = date-day "-" date-month "-" date-year</c> (SEARCH's dates).</summary>
    public DateOnly ReadDate()
    {
        var quoted = TryRead((byte)'"');
        var day = ReadFixedDigits(1, 2, "Invalid date");
        Read((byte)'-', "Invalid date");
        var month = ReadMonth("Invalid date");
        Read((byte)'-', "Invalid date");
        var year = ReadFixedDigits(4, 4, "Invalid date");
        if (quoted)
        {
            Read((byte)'"', "Invalid date");
        }
        if (year < 1 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            ImapParseException.Throw("Invalid date");
        }
        return new DateOnly(year, month, day);
    }

    /// <summary>
    /// <c>date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE</c>, e.g.
    /// <c>"17-Jul-1996 02:44:25 -0700"</c> (APPEND's internal date). <c>date-day-fixed = (SP DIGIT) / 2DIGIT</c>. The
    /// zone may be at most 14 hours from UTC.
    /// </summary>
    public DateTimeOffset ReadDateTime()
    {
        const string Invalid = "Invalid date-time";
        Read((byte)'"', Invalid);
        var day = TryRead((byte)' ') ? ReadFixedDigits(1, 1, Invalid) : ReadFixedDigits(2, 2, Invalid);
        Read((byte)'-', Invalid);
        var month = ReadMonth(Invalid);
        Read((byte)'-', Invalid);
        var year = ReadFixedDigits(4, 4, Invalid);
        Read((byte)' ', Invalid);
        var hour = ReadFixedDigits(2, 2, Invalid);
        Read((byte)':', Invalid);
        var minute = ReadFixedDigits(2, 2, Invalid);
        Read((byte)':', Invalid);
        var second = ReadFixedDigits(2, 2, Invalid);
        Read((byte)' ', Invalid);
        var sign = TryRead((byte)'-') ? -1 : 1;
        if (sign == 1)
        {
            Read((byte)'+', Invalid);
        }
        var zoneHours = ReadFixedDigits(2, 2, Invalid);
        var zoneMinutes = ReadFixedDigits(2, 2, Invalid);
        Read((byte)'"', Invalid);
        if (year < 1 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59
            || zoneMinutes > 59 || (zoneHours * 60) + zoneMinutes > 14 * 60)
        {
            ImapParseException.Throw(Invalid);
        }
        var offset = new TimeSpan(sign * zoneHours, sign * zoneMinutes, 0);
        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified);
        // The instant must be representable (year 1 at +14:00 would be before DateTimeOffset.MinValue in UTC).
        var utcTicks = local.Ticks - offset.Ticks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
        {
            ImapParseException.Throw(Invalid);
        }
        return new DateTimeOffset(local, offset);
    }

    /// <summary>
    /// <c>mailbox = "INBOX" / astring</c>: INBOX in any case is "INBOX" (RFC 9051 §9); any other name is decoded from
    /// modified UTF-7 (RFC 3501 §5.1.3), or taken as UTF-8 when <see cref="Utf8Accept"/> is set (RFC 6855 §3).
    /// </summary>
    public string ReadMailbox() => DecodeMailbox(ReadAStringOctets("Expected a mailbox name"));

    /// <summary>
    /// <c>list-mailbox = 1*list-char / string</c> (a LIST pattern, wildcards "%" and "*" kept), decoded as
    /// <see cref="ReadMailbox"/> decodes a name.
    /// </summary>
    public string ReadListMailbox()
    {
        var next = Peek();
        if (next is '"' or '{')
        {
            return DecodeMailbox(ReadStringOctets());
        }
        var pattern = ReadRun(ListChar);
        if (pattern.IsEmpty)
        {
            ImapParseException.Throw("Expected a mailbox pattern");
        }
        return DecodeMailbox(pattern);
    }

    /// <summary>A mailbox name's octets as a name: see <see cref="ReadMailbox"/>.</summary>
    public readonly string DecodeMailbox(ReadOnlySpan<byte> octets)
    {
        if (Ascii.EqualsIgnoreCase(octets, "INBOX"u8))
        {
            return "INBOX";
        }
        if (Utf8Accept)
        {
            return DecodeUtf8(octets, "Invalid UTF-8 in a mailbox name");
        }
        if (!ModifiedUtf7.TryDecode(octets, out var name))
        {
            ImapParseException.Throw("Mailbox name is not valid modified UTF-7");
        }
        return name;
    }

    private int ReadFixedDigits(int min, int max, string message)
    {
        var value = 0;
        var count = 0;
        while (count < max && _position < _command.Length && char.IsAsciiDigit((char)_command[_position]))
        {
            value = (value * 10) + (_command[_position] - '0');
            _position++;
            count++;
        }
        if (count < min)
        {
            ImapParseException.Throw(message);
        }
        return value;
    }

    private int ReadMonth(string message)
    {
        if (_command.Length - _position >= 3)
        {
            var text = _command.Slice(_position, 3);
            for (var i = 0; i < s_months.Length; i++)
            {
                if (Ascii.EqualsIgnoreCase(text, s_months[i]))
                {
                    _position += 3;
                    return i + 1;
                }
            }
        }
        ImapParseException.Throw(message);
        return 0;
    }
}
