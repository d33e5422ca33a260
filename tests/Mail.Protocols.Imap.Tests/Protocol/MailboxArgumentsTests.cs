using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>CREATE (with CREATE-SPECIAL-USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE.</summary>
public class MailboxArgumentsTests
{
    [Theory]
    [InlineData(" owatagusiam/", "owatagusiam/")]
    [InlineData(" \"Sent Items\"", "Sent Items")]
    [InlineData(" inbox", "INBOX")]
    [InlineData(" &AOk-t&AOk-", "\u00e9t\u00e9")]
    public void Mailbox(string arguments, string mailbox) => Assert.Equal(mailbox, Parse.Read(arguments, MailboxArguments.Parse).Mailbox);

    [Theory]
    [InlineData("", "Missing space")]
    [InlineData(" ", "Expected a mailbox name")]
    [InlineData(" a b", "Unexpected text after the command's arguments")]
    [InlineData(" a&b", "Mailbox name is not valid modified UTF-7")]
    public void Bad_mailbox(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, MailboxArguments.Parse));

    [Fact]
    public void Rename() => Assert.Equal(new RenameArguments("blurdybloop", "sarasoop"), Parse.Read(" blurdybloop sarasoop", RenameArguments.Parse));

    [Theory]
    [InlineData(" a", "Missing space")]
    [InlineData(" a ", "Expected a mailbox name")]
    public void Bad_rename(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, RenameArguments.Parse));

    [Fact]
    public void Create_plain()
    {
        var arguments = Parse.Read(" Drafts", CreateArguments.Parse);
        Assert.Equal("Drafts", arguments.Mailbox);
        Assert.Empty(arguments.Uses);
        Assert.Empty(arguments.UnknownUses);
    }

    [Fact]
    public void Create_special_use()
    {
        // RFC 6154 §5.2: t1 CREATE MySpecial (USE (\Drafts \Sent))
        var arguments = Parse.Read(" MySpecial (USE (\\Drafts \\sent \\Drafts))", CreateArguments.Parse);
        Assert.Equal([SpecialUse.Drafts, SpecialUse.Sent], arguments.Uses);
        Assert.Empty(arguments.UnknownUses);
    }

    [Fact]
    public void Create_with_an_unknown_use_returns_it_for_a_no_useattr()
    {
        var arguments = Parse.Read(" Important (USE (\\Important \\All \\Archive \\Flagged \\Junk \\Trash))", CreateArguments.Parse);
        Assert.Equal(["\\Important"], arguments.UnknownUses);
        Assert.Equal([SpecialUse.All, SpecialUse.Archive, SpecialUse.Flagged, SpecialUse.Junk, SpecialUse.Trash], arguments.Uses);
        Assert.Empty(Parse.Read(" x (USE ())", CreateArguments.Parse).Uses);
    }

    [Theory]
    [InlineData(" x (FOO)", "Unknown CREATE parameter")]
    [InlineData(" x ()", "Unknown CREATE parameter")]
    [InlineData(" x (USE (Drafts))", "Invalid special use")]
    [InlineData(" x (USE \\Drafts)", "Expected a list of special uses")]
    [InlineData(" x (USE (\\Drafts) USE (\\Sent))", "USE given twice")]
    [InlineData(" x (USE (\\Drafts)", "Expected \")\"")]
    [InlineData(" x USE", "Expected CREATE parameters")]
    public void Bad_create(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, CreateArguments.Parse));
}
