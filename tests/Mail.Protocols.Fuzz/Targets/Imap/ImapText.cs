using System.Buffers;
using System.Text;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Text;

namespace Mail.Protocols.Fuzz.Targets.Imap;

/// <summary>What the IMAP targets share: the check of a BAD text, and writing values back as a client would.</summary>
internal static class ImapText
{
    /// <summary>An <see cref="ImapParseException"/>'s message is the text of a BAD reply: one line of printable ASCII.</summary>
    public static void CheckBad(ImapParseException exception)
    {
        var text = exception.Message;
        Fuzz.Check(text.Length is > 0 and <= 200 && text.All(c => c is >= ' ' and <= '~'), $"the BAD text \"{text}\" is not one short line of printable ASCII");
    }

    /// <summary>A mailbox name as a client writes it: modified UTF-7 (or UTF-8 after ENABLE UTF8=ACCEPT), quoted or a literal.</summary>
    public static byte[] Mailbox(string name, bool utf8Accept) =>
        AString(utf8Accept ? Encoding.UTF8.GetBytes(name) : Encoding.ASCII.GetBytes(ModifiedUtf7.Encode(name)));

    /// <summary>An astring: a quoted string, or a literal when quoting cannot carry the octets.</summary>
    public static byte[] AString(ReadOnlySpan<byte> octets)
    {
        var buffer = new ArrayBufferWriter<byte>();
        buffer.WriteString(octets);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A mailbox name read back from <see cref="Mailbox"/> must be the same name.</summary>
    public static void CheckMailboxRoundTrip(string name, bool utf8Accept)
    {
        var written = Mailbox(name, utf8Accept);
        var reader = new ImapReader(written) { Utf8Accept = utf8Accept };
        string again;
        try
        {
            again = reader.ReadMailbox();
            reader.ReadEnd();
        }
        catch (ImapParseException exception)
        {
            throw new FuzzPropertyException($"the mailbox name \"{name}\" written back as \"{Fuzz.Escape(written)}\" does not parse: {exception.Message}");
        }

        Fuzz.Equal(name, again, $"the mailbox name written back as \"{Fuzz.Escape(written)}\" and read again");
    }
}
