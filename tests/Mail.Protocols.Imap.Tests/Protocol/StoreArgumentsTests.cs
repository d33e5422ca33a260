using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>STORE with FLAGS, +FLAGS, -FLAGS, .SILENT and RFC 7162's UNCHANGEDSINCE.</summary>
public class StoreArgumentsTests
{
    [Fact]
    public void Store_from_the_rfc()
    {
        // RFC 9051 §6.4.6: A003 STORE 2:4 +FLAGS (\Deleted)
        var arguments = Parse.Read(" 2:4 +FLAGS (\\Deleted)", StoreArguments.Parse);
        Assert.Equal("2:4", arguments.Set.Resolve(10).ToString());
        Assert.Equal(FlagChangeMode.Add, arguments.Mode);
        Assert.False(arguments.Silent);
        Assert.Null(arguments.UnchangedSince);
        var change = arguments.Flags.ToFlagChange(arguments.Mode);
        Assert.Equal((FlagChangeMode.Add, MessageFlags.Deleted), (change.Mode, change.Flags));
        Assert.Empty(change.Keywords!);
    }

    [Theory]
    [InlineData(" 1 FLAGS (\\Seen)", FlagChangeMode.Replace, false)]
    [InlineData(" 1 flags.silent (\\Seen)", FlagChangeMode.Replace, true)]
    [InlineData(" 1 +FLAGS.SILENT (\\Seen)", FlagChangeMode.Add, true)]
    [InlineData(" 1 -Flags \\Seen", FlagChangeMode.Remove, false)]
    [InlineData(" 1 -FLAGS.SILENT \\Seen", FlagChangeMode.Remove, true)]
    public void Modes(string arguments, FlagChangeMode mode, bool silent)
    {
        var parsed = Parse.Read(arguments, StoreArguments.Parse);
        Assert.Equal((mode, silent, MessageFlags.Seen), (parsed.Mode, parsed.Silent, parsed.Flags.Flags));
    }

    [Fact]
    public void Flags_without_parentheses_and_keywords()
    {
        var arguments = Parse.Read(" 1:* +FLAGS \\Flagged $Label1 Work", StoreArguments.Parse);
        Assert.Equal(MessageFlags.Flagged, arguments.Flags.Flags);
        Assert.Equal(["$Label1", "Work"], arguments.Flags.Keywords);
    }

    [Fact]
    public void Empty_flag_list_clears() => Assert.Same(ImapFlags.None, Parse.Read(" 1 FLAGS ()", StoreArguments.Parse).Flags);

    [Fact]
    public void Unchangedsince()
    {
        // RFC 7162 §3.1.3: d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\Deleted)
        var arguments = Parse.Read(" 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)", StoreArguments.Parse);
        Assert.Equal(320162338L, arguments.UnchangedSince);
        Assert.True(arguments.Silent);
        Assert.Equal(0L, Parse.Read(" 1 (unchangedsince 0) FLAGS ()", StoreArguments.Parse).UnchangedSince);
    }

    [Fact]
    public void Saved_result() => Assert.True(Parse.Read(" $ +FLAGS (\\Seen)", StoreArguments.Parse).Set.IncludesSavedResult);

    [Theory]
    [InlineData(" 1 FLAGS", "Missing space")]
    [InlineData(" 1 FLAGS ", "Invalid flag")]
    [InlineData(" 1 FLAG (\\Seen)", "Expected FLAGS, +FLAGS or -FLAGS")]
    [InlineData(" 1 +FLAGS.LOUD (\\Seen)", "Expected FLAGS, +FLAGS or -FLAGS")]
    [InlineData(" 1 *FLAGS (\\Seen)", "Expected FLAGS, +FLAGS or -FLAGS")]
    [InlineData(" 1 (\\Seen)", "Unknown STORE modifier")]
    [InlineData(" 1 (UNCHANGEDSINCE) FLAGS ()", "Missing space")]
    [InlineData(" 1 (UNCHANGEDSINCE -1) FLAGS ()", "Expected a number")]
    [InlineData(" 1 (UNCHANGEDSINCE 9223372036854775808) FLAGS ()", "Number out of range")]
    [InlineData(" 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS ()", "UNCHANGEDSINCE given twice")]
    [InlineData(" 0 FLAGS ()", "Invalid sequence set")]
    [InlineData(" 1 FLAGS (\\Recent)", "Unknown system flag")]
    [InlineData(" 1 FLAGS (\\Seen) x", "Unexpected text after the command's arguments")]
    public void Bad_store(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, StoreArguments.Parse));
}
