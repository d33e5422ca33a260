using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>LIST with LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154) and LIST-STATUS (RFC 5819); LSUB.</summary>
public class ListArgumentsTests
{
    [Fact]
    public void Basic_list()
    {
        var arguments = Parse.Read(" \"\" %", ListArguments.Parse);
        Assert.Equal("", arguments.Reference);
        Assert.Equal(["%"], arguments.Patterns);
        Assert.Equal(ListSelectOptions.None, arguments.Select);
        Assert.Equal(ListReturnOptions.None, arguments.Return);
        Assert.False(arguments.IsExtended);
    }

    [Fact]
    public void Basic_list_with_reference_and_empty_pattern()
    {
        // RFC 9051 §6.3.9: A682 LIST "/usr/staff/jones" ""
        var arguments = Parse.Read(" \"/usr/staff/jones\" \"\"", ListArguments.Parse);
        Assert.Equal("/usr/staff/jones", arguments.Reference);
        Assert.Equal([""], arguments.Patterns);
        Assert.False(arguments.IsExtended);
    }

    [Fact]
    public void Selection_options_and_pattern_list()
    {
        // RFC 5258 §5 example 8: LIST (SUBSCRIBED RECURSIVEMATCH) "" (% %/%) ... (written with REMOTE too)
        var arguments = Parse.Read(" (SUBSCRIBED REMOTE recursivematch) \"\" (\"%\" %/% INBOX)", ListArguments.Parse);
        Assert.Equal(ListSelectOptions.Subscribed | ListSelectOptions.Remote | ListSelectOptions.RecursiveMatch, arguments.Select);
        Assert.Equal(["%", "%/%", "INBOX"], arguments.Patterns);
        Assert.Equal(ListReturnOptions.Subscribed, arguments.Return);
        Assert.True(arguments.IsExtended);
    }

    [Fact]
    public void Empty_selection_options_make_an_extended_list() =>
        Assert.True(Parse.Read(" () \"\" \"\"", ListArguments.Parse).IsExtended);

    [Fact]
    public void Special_use_selection_and_return()
    {
        // RFC 6154 §5.3: t3 LIST (SPECIAL-USE) "" "*"; §5.1: LIST "" "%" RETURN (SPECIAL-USE)
        Assert.Equal(ListSelectOptions.SpecialUse, Parse.Read(" (SPECIAL-USE) \"\" \"*\"", ListArguments.Parse).Select);
        Assert.Equal(ListReturnOptions.SpecialUse, Parse.Read(" \"\" \"%\" RETURN (SPECIAL-USE)", ListArguments.Parse).Return);
        Assert.Equal(ListSelectOptions.SpecialUse | ListSelectOptions.RecursiveMatch, Parse.Read(" (RECURSIVEMATCH SPECIAL-USE) \"\" *", ListArguments.Parse).Select);
    }

    [Fact]
    public void Return_options_with_status()
    {
        // RFC 5819 §5: LIST "" % RETURN (STATUS (MESSAGES UNSEEN))
        var arguments = Parse.Read(" \"\" % RETURN (CHILDREN STATUS (MESSAGES UNSEEN) subscribed)", ListArguments.Parse);
        Assert.Equal(ListReturnOptions.Children | ListReturnOptions.Status | ListReturnOptions.Subscribed, arguments.Return);
        Assert.Equal(StatusItems.Messages | StatusItems.Unseen, arguments.StatusItems);
        Assert.True(arguments.IsExtended);
        Assert.Equal(ListReturnOptions.None, Parse.Read(" \"\" % RETURN ()", ListArguments.Parse).Return);
    }

    [Fact]
    public void Option_given_twice_counts_once() =>
        Assert.Equal(ListSelectOptions.Subscribed, Parse.Read(" (SUBSCRIBED SUBSCRIBED) \"\" *", ListArguments.Parse).Select);

    [Fact]
    public void Names_are_decoded() =>
        Assert.Equal(["Entw\u00fcrfe/%"], Parse.Read(" \"\" Entw&APw-rfe/%", ListArguments.Parse).Patterns);

    [Theory]
    [InlineData(" (FOO) \"\" *", "Unknown LIST selection option")]
    [InlineData(" (RECURSIVEMATCH) \"\" *", "RECURSIVEMATCH needs another selection option")]
    [InlineData(" (REMOTE RECURSIVEMATCH) \"\" *", "RECURSIVEMATCH needs another selection option")]
    [InlineData(" \"\" * RETURN (FOO)", "Unknown LIST return option")]
    [InlineData(" \"\" * RETURN (STATUS (FOO))", "Unknown STATUS item")]
    [InlineData(" \"\" * RETURN (STATUS ())", "Expected a STATUS item")]
    [InlineData(" \"\" * RETURN", "Missing space")]
    [InlineData(" \"\" * FOO", "Expected RETURN options")]
    [InlineData(" \"\" ()", "Expected a mailbox pattern")]
    [InlineData(" \"\"", "Missing space")]
    [InlineData(" \"\" (a", "Expected \")\"")]
    [InlineData(" (SUBSCRIBED)\"\" *", "Missing space")]
    [InlineData(" * *", "Expected a mailbox name")]
    public void Bad_list(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, ListArguments.Parse));

    [Fact]
    public void Lsub() => Assert.Equal(new LsubArguments("#news.", "comp.mail.*"), Parse.Read(" \"#news.\" \"comp.mail.*\"", LsubArguments.Parse));

    [Fact]
    public void Bad_lsub() => Assert.Equal("Unexpected text after the command's arguments", Parse.Bad(" \"\" * RETURN (CHILDREN)", LsubArguments.Parse));
}
