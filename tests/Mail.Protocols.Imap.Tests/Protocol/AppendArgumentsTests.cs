using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>APPEND's arguments up to the message literal's header.</summary>
public class AppendArgumentsTests
{
    private static (AppendArguments Arguments, int Position) Append(string arguments)
    {
        var reader = new ImapReader(Parse.Octets(arguments));
        var parsed = AppendArguments.Parse(ref reader);
        return (parsed, reader.Position);
    }

    [Fact]
    public void Append_from_the_rfc()
    {
        // RFC 9051 §6.3.12: A003 APPEND saved-messages (\Seen) {326}
        var (arguments, position) = Append(" saved-messages (\\Seen) {326}");
        Assert.Equal("saved-messages", arguments.Mailbox);
        Assert.Equal(MessageFlags.Seen, arguments.Flags.Flags);
        Assert.Null(arguments.InternalDate);
        Assert.Equal(new LiteralHeader(326, true, false), arguments.Message);
        Assert.False(arguments.IsUtf8);
        Assert.Equal(" saved-messages (\\Seen) {326}".Length, position);
    }

    [Fact]
    public void Append_stops_at_the_literal_header_whatever_follows()
    {
        var (arguments, position) = Append(" INBOX {3+}\r\nabc");
        Assert.Equal(new LiteralHeader(3, false, false), arguments.Message);
        Assert.Equal(" INBOX {3+}".Length, position);
    }

    [Fact]
    public void Append_with_flags_date_and_literal8()
    {
        var (arguments, _) = Append(" Drafts (\\Draft $MDNSent) \"05-Dec-2026 10:11:12 +0100\" ~{4294967296}");
        Assert.Equal(MessageFlags.Draft, arguments.Flags.Flags);
        Assert.Equal(["$MDNSent"], arguments.Flags.Keywords);
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 10, 11, 12, TimeSpan.FromHours(1)), arguments.InternalDate);
        Assert.Equal(new LiteralHeader(4294967296, true, true), arguments.Message);
    }

    [Fact]
    public void Append_with_date_only_and_empty_flags()
    {
        var (arguments, _) = Append(" INBOX () \" 5-Dec-2026 10:11:12 -0000\" {0}");
        Assert.Same(ImapFlags.None, arguments.Flags);
        Assert.Equal(TimeSpan.Zero, arguments.InternalDate!.Value.Offset);
        Assert.Equal(0, arguments.Message.Length);
    }

    [Fact]
    public void Append_utf8_form()
    {
        // RFC 6855 §4: APPEND mailbox UTF8 (~{n+} ...)
        var (arguments, position) = Append(" INBOX UTF8 (~{12+}");
        Assert.True(arguments.IsUtf8);
        Assert.Equal(new LiteralHeader(12, false, true), arguments.Message);
        Assert.Equal(" INBOX UTF8 (~{12+}".Length, position);
    }

    [Theory]
    [InlineData(" INBOX", "Missing space")]
    [InlineData(" INBOX ", "Expected the message literal")]
    [InlineData(" INBOX \"msg\"", "Invalid date-time")]
    [InlineData(" INBOX (\\Recent) {1}", "Unknown system flag")]
    [InlineData(" INBOX (\\Seen){1}", "Missing space")]
    [InlineData(" INBOX \"05-Dec-2026 10:11:12 +0100\"", "Missing space")]
    [InlineData(" INBOX \"5-Dec-2026 10:11:12 +0100\" {1}", "Invalid date-time")]
    [InlineData(" INBOX {99999999999999999999}", "Invalid literal length")]
    [InlineData(" INBOX {-1}", "Invalid literal length")]
    [InlineData(" INBOX UTF8 ({3}", "Expected a literal8 for the message")]
    [InlineData(" INBOX UTF8 ~{3}", "Expected \"(\" before the message")]
    [InlineData(" INBOX CATENATE (TEXT {3}", "Expected the message literal")]
    [InlineData(" INBOX abc", "Expected the message literal")]
    public void Bad_append(string arguments, string message) =>
        Assert.Equal(message, Assert.Throws<ImapParseException>(() => Append(arguments)).Message);
}
