namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// APPEND's arguments up to the message (RFC 9051 §6.3.12):
/// <c>append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal</c>, where the message may also be a
/// literal8 (RFC 3516 <c>append-data = literal8</c>) or, for a client that enabled UTF8=ACCEPT, RFC 6855 §4's
/// <c>"UTF8" SP "(" literal8 ")"</c>. The parse stops right after the literal header's "}" and leaves
/// <see cref="ImapReader.Position"/> there: the octets are the session's to stream into the store (after a "+" for a
/// synchronizing literal), then, for the UTF8 form, a ")" must follow them, and then the command's CRLF. MULTIAPPEND
/// and CATENATE are not supported: anything else where the literal should be is a BAD.
/// </summary>
/// <param name="Mailbox">The mailbox to append to.</param>
/// <param name="Flags">The flags to set (<see cref="ImapFlags.None"/> when no flag list was given).</param>
/// <param name="InternalDate">The internal date, or null for the time of the append.</param>
/// <param name="Message">The message literal's header: its length (check it against APPENDLIMIT before reading),
/// whether it is synchronizing, whether it is a literal8.</param>
/// <param name="IsUtf8">The RFC 6855 <c>UTF8 (~{n}...)</c> form: after the octets the session must read ")".</param>
internal sealed record AppendArguments(string Mailbox, ImapFlags Flags, DateTimeOffset? InternalDate, LiteralHeader Message, bool IsUtf8)
{
    public static AppendArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var mailbox = reader.ReadMailbox();
        reader.ReadSpace();
        var flags = ImapFlags.None;
        if (reader.Peek() == '(')
        {
            flags = reader.ReadFlagList();
            reader.ReadSpace();
        }
        DateTimeOffset? date = null;
        if (reader.Peek() == '"')
        {
            date = reader.ReadDateTime();
            reader.ReadSpace();
        }
        var utf8 = false;
        if (reader.TryReadKeyword("UTF8"u8))
        {
            utf8 = true;
            reader.ReadSpace();
            reader.Read((byte)'(', "Expected \"(\" before the message");
            if (reader.Peek() != '~')
            {
                ImapParseException.Throw("Expected a literal8 for the message");
            }
        }
        if (reader.Peek() is not ('{' or '~'))
        {
            ImapParseException.Throw("Expected the message literal");
        }
        var header = reader.ReadLiteralHeader(allowBinary: true);
        return new AppendArguments(mailbox, flags, date, header, utf8);
    }
}
