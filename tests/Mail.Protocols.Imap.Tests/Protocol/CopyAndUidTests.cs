using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>COPY, MOVE, the UID prefix and UID EXPUNGE.</summary>
public class CopyAndUidTests
{
    [Fact]
    public void Copy_from_the_rfc()
    {
        // RFC 9051 §6.4.7: A003 COPY 2:4 MEETING
        var arguments = Parse.Read(" 2:4 MEETING", CopyArguments.Parse);
        Assert.Equal("2:4", arguments.Set.Resolve(10).ToString());
        Assert.Equal("MEETING", arguments.Mailbox);
    }

    [Theory]
    [InlineData(" 2:4", "Missing space")]
    [InlineData(" MEETING 2:4", "Invalid sequence set")]
    [InlineData(" 2:4 ", "Expected a mailbox name")]
    [InlineData(" 2:4 a b", "Unexpected text after the command's arguments")]
    public void Bad_copy(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, CopyArguments.Parse));

    [Theory]
    [InlineData(" FETCH 1:* FLAGS", "Fetch")]
    [InlineData(" store 1 +FLAGS (\\Seen)", "Store")]
    [InlineData(" Search ALL", "Search")]
    [InlineData(" COPY 1 x", "Copy")]
    [InlineData(" MOVE 1 x", "Move")]
    [InlineData(" EXPUNGE 1", "Expunge")]
    public void Uid_prefix_leaves_the_reader_after_the_command(string text, string kind)
    {
        var reader = new ImapReader(Parse.Octets(text));
        Assert.Equal(kind, UidCommand.Read(ref reader).ToString());
        Assert.Equal((byte)' ', reader.Peek());
    }

    [Fact]
    public void Uid_move_then_its_arguments()
    {
        var reader = new ImapReader(Parse.Octets(" MOVE 42:69 foo"));
        Assert.Equal(UidCommandKind.Move, UidCommand.Read(ref reader));
        var arguments = CopyArguments.Parse(ref reader);
        Assert.Equal("42:69", arguments.Set.Resolve(100).ToString());
    }

    [Theory]
    [InlineData("", "Expected a command after UID")]
    [InlineData(" ", "Expected a command after UID")]
    [InlineData(" NOOP", "Unknown command after UID")]
    [InlineData(" FETCHX 1", "Unknown command after UID")]
    public void Bad_uid(string text, string message) => Assert.Equal(message, Parse.Bad(text, (ref r) => UidCommand.Read(ref r)));

    [Fact]
    public void Uid_expunge_takes_a_uid_set()
    {
        // RFC 4315 §2.1: A003 UID EXPUNGE 3000:3002
        Assert.Equal("3000:3002", Parse.Read(" 3000:3002", UidCommand.ParseExpunge).Resolve(5000).ToString());
        Assert.Equal("Expected a UID set", Parse.Bad("", UidCommand.ParseExpunge));
        Assert.Equal("Invalid sequence set", Parse.Bad(" x", UidCommand.ParseExpunge));
    }
}
