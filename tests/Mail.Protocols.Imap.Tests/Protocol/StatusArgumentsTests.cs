using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>STATUS with every item of RFC 9051, RFC 3501 and RFC 7162.</summary>
public class StatusArgumentsTests
{
    [Fact]
    public void Status_from_the_rfc() =>
        // RFC 9051 §6.3.11: A042 STATUS blurdybloop (UIDNEXT MESSAGES)
        Assert.Equal(new StatusArguments("blurdybloop", StatusItems.UidNext | StatusItems.Messages), Parse.Read(" blurdybloop (UIDNEXT MESSAGES)", StatusArguments.Parse));

    [Fact]
    public void Every_item() =>
        Assert.Equal((StatusItems)255, Parse.Read(" INBOX (messages UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ)", StatusArguments.Parse).Items);

    [Theory]
    [InlineData(" INBOX ()", "Expected a STATUS item")]
    [InlineData(" INBOX (FOO)", "Unknown STATUS item")]
    [InlineData(" INBOX MESSAGES", "Expected a list of STATUS items")]
    [InlineData(" INBOX (MESSAGES", "Expected \")\"")]
    [InlineData(" INBOX", "Missing space")]
    public void Bad_status(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, StatusArguments.Parse));
}
