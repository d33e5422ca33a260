using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>SELECT/EXAMINE with RFC 7162's CONDSTORE and QRESYNC parameters.</summary>
public class SelectArgumentsTests
{
    [Fact]
    public void Plain_select()
    {
        var arguments = Parse.Read(" inbox", SelectArguments.Parse);
        Assert.Equal(new SelectArguments("INBOX", false, null), arguments);
    }

    [Fact]
    public void Condstore() => Assert.True(Parse.Read(" INBOX (CONDSTORE)", SelectArguments.Parse).CondStore);

    [Fact]
    public void Qresync_with_uidvalidity_and_modseq()
    {
        // RFC 7162 §3.2.5.2 example.
        var qresync = Parse.Read(" INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))", SelectArguments.Parse).QResync!;
        Assert.Equal(67890007u, qresync.UidValidity);
        Assert.Equal(20050715194045000L, qresync.ModSeq);
        Assert.Equal("41,43:211,214:541", qresync.KnownUids!.Resolve(0).ToString());
        Assert.Null(qresync.KnownSequenceNumbers);
    }

    [Fact]
    public void Qresync_with_seq_match_data()
    {
        // RFC 7162 §3.2.5.2: ... (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:10,20 41:50,60)))
        var qresync = Parse.Read(" INBOX (CONDSTORE QRESYNC (67890007 90060115194045000 41:211,214:541 (1:10,20 41:50,60)))", SelectArguments.Parse).QResync!;
        Assert.Equal("1:10,20", qresync.KnownSequenceNumbers!.Resolve(0).ToString());
        Assert.Equal("41:50,60", qresync.KnownSequenceUids!.Resolve(0).ToString());
    }

    [Fact]
    public void Qresync_with_seq_match_data_but_no_known_uids()
    {
        var qresync = Parse.Read(" INBOX (QRESYNC (1 2 (1:2 5:6)))", SelectArguments.Parse).QResync!;
        Assert.Null(qresync.KnownUids);
        Assert.Equal("5:6", qresync.KnownSequenceUids!.Resolve(0).ToString());
    }

    [Fact]
    public void Qresync_minimal() =>
        Assert.Equal(new QResyncParameters(1, 9223372036854775807, null, null, null), Parse.Read(" INBOX (qresync (1 9223372036854775807))", SelectArguments.Parse).QResync);

    [Theory]
    [InlineData(" INBOX ()", "Unknown SELECT parameter")]
    [InlineData(" INBOX (FOO)", "Unknown SELECT parameter")]
    [InlineData(" INBOX CONDSTORE", "Expected SELECT parameters")]
    [InlineData(" INBOX (CONDSTORE", "Expected \")\"")]
    [InlineData(" INBOX (QRESYNC)", "Missing space")]
    [InlineData(" INBOX (QRESYNC (0 5))", "Expected a non-zero number")]
    [InlineData(" INBOX (QRESYNC (1 0))", "Invalid mod-sequence value")]
    [InlineData(" INBOX (QRESYNC (1 9223372036854775808))", "Number out of range")]
    [InlineData(" INBOX (QRESYNC (1 2 1:*))", "Invalid sequence set")]
    [InlineData(" INBOX (QRESYNC (1 2 $))", "Invalid sequence set")]
    [InlineData(" INBOX (QRESYNC (1 2 1:5 (1:*  2)))", "Invalid sequence set")]
    [InlineData(" INBOX (QRESYNC (1 2 1:5 6))", "Expected sequence match data")]
    [InlineData(" INBOX (QRESYNC (1 2 (1:2)))", "Missing space")]
    [InlineData(" INBOX (QRESYNC (1 2) QRESYNC (1 2))", "QRESYNC given twice")]
    [InlineData("", "Missing space")]
    public void Bad_select(string arguments, string message) => Assert.Equal(message, Parse.Bad(arguments, SelectArguments.Parse));
}
