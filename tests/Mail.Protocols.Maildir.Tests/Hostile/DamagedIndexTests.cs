using Mail.Protocols.Maildir.Index;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mail.Protocols.Maildir.Tests.Hostile;

/// <summary>
/// An index journal damaged or written by another hand (found by the FolderIndex fuzz target): a line out of range is damage
/// (a keyword that is no IMAP atom is only left out),
/// cut off with every line after it, never a crash of the folder's opening nor a record IMAP cannot send; a journal whose
/// UIDs could not continue is rebuilt under a new UIDVALIDITY.
/// </summary>
public sealed class DamagedIndexTests : IDisposable
{
    private const uint NewUidValidity = 4242;
    private const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private FolderIndex Open(string journal)
    {
        File.WriteAllText(_directory.Combine(FolderIndex.FileName), journal);
        return FolderIndex.Open(_directory.Path, SpecialUse.None, () => NewUidValidity, sync: false, Mode, NullLogger.Instance);
    }

    private const string Header = "mailprotocols-index 1 5 0\nN 2 2\nA 1 2 1733479200000 10 0 0 1.M1P1Q1.host\n";

    [Theory]
    [InlineData("A 2 3 999999999999999999 10 0 0 2.M1P1Q2.host")]            // a date no DateTimeOffset holds (threw)
    [InlineData("A 2 3 1733479200000 10 4294967295 0 2.M1P1Q2.host")]       // flags none of the five
    [InlineData("F 1 3 64 0")]
    [InlineData("A 2 3 1733479200000 10 0 0 ../../2.M1P1Q2.host")]          // a base name no file in cur/ has
    [InlineData("A 2 3 1733479200000 10 0 0 2.M1P1Q2.host:2,S")]
    [InlineData("A 2 9223372036854775808 1733479200000 10 0 0 2.M1P1Q2.host")] // a MODSEQ past IMAP's 63 bits
    public void A_line_out_of_range_is_damage_cut_off_with_what_follows(string line)
    {
        using var index = Open(Header + line + "\nA 3 4 1733479200000 10 0 0 3.M1P1Q3.host\n");

        Assert.Equal(5u, index.UidValidity);
        Assert.Equal([1u], index.ByUid.Keys);
        Assert.True(index.NeedsCompaction);
        Assert.True(index.UidNext > 3, "UIDs the lost lines may have given are not given again");
    }

    [Fact]
    public void A_keyword_that_is_no_imap_atom_is_left_out_and_its_line_and_the_lines_after_it_are_kept()
    {
        using var index = Open(Header + "A 2 3 1733479200000 10 0 0 2.M1P1Q2.host ok (kw $Seen\nF 1 4 1 0 fine a]b\nA 3 5 1733479200000 10 0 0 3.M1P1Q3.host\n");

        Assert.Equal(5u, index.UidValidity);
        Assert.Equal([1u, 2u, 3u], index.ByUid.Keys.Order());
        Assert.Equal(["ok", "$Seen"], index.ByUid[2].Keywords);
        Assert.Equal(["fine"], index.ByUid[1].Keywords);
        Assert.Equal(4u, index.UidNext);
    }

    [Fact]
    public void Flag_bits_beyond_the_five_system_flags_are_not_written_so_the_journal_reads_back_whole()
    {
        using (var index = Open(Header))
        {
            index.Add("2.M1P1Q2.host", DateTimeOffset.UnixEpoch, 10, (MessageFlags)0xFF, false, []);
            index.ByUid[1].Flags = (MessageFlags)0x100 | MessageFlags.Seen;
            index.FlagsChanged(index.ByUid[1]);
            index.Commit();
        }

        using var reopened = FolderIndex.Open(_directory.Path, SpecialUse.None, () => NewUidValidity, sync: false, Mode, NullLogger.Instance);
        Assert.Equal(5u, reopened.UidValidity);
        Assert.False(reopened.NeedsCompaction);
        Assert.Equal((MessageFlags)0x1F, reopened.ByUid[2].Flags);
        Assert.Equal(MessageFlags.Seen, reopened.ByUid[1].Flags);
    }

    [Fact]
    public void A_damaged_line_after_uidnext_4294967295_rebuilds_the_index_instead_of_wrapping_to_uid_1()
    {
        using var index = Open("mailprotocols-index 1 5 0\nN 4294967294 3\nA 1 2 1733479200000 10 0 0 1.M1P1Q1.host\ndamage\nmore\n");

        Assert.Equal(NewUidValidity, index.UidValidity);
        Assert.Empty(index.ByUid);
        Assert.Equal(1u, index.UidNext);
    }

    [Fact]
    public void A_journal_whose_next_uid_is_4294967295_is_rebuilt_since_no_uid_could_follow()
    {
        using var index = Open("mailprotocols-index 1 5 0\nN 4294967295 3\n");

        Assert.Equal(NewUidValidity, index.UidValidity);
        Assert.Equal(1u, index.UidNext);
    }

    [Fact]
    public void A_journal_whose_modseq_is_past_63_bits_is_rebuilt()
    {
        using var index = Open("mailprotocols-index 1 5 0\nN 2 18446744073709551615\n");

        Assert.Equal(NewUidValidity, index.UidValidity);
        Assert.Equal(1ul, index.HighestModSeq);
    }

    [Fact]
    public void A_journal_whose_snapshot_counters_are_damaged_is_rebuilt_since_its_uidnext_is_unknown()
    {
        using var index = Open("mailprotocols-index 1 5 0\nN 1x00 3\nA 1 2 1733479200000 10 0 0 1.M1P1Q1.host\n");

        Assert.Equal(NewUidValidity, index.UidValidity);
        Assert.Empty(index.ByUid);
    }

    [Fact]
    public void Once_the_uids_run_out_a_new_message_is_refused_and_the_next_open_numbers_the_folder_afresh()
    {
        // A dovecot-uidlist may hand over next UID 4294967294: one UID is left. 4294967295 is never given (the reader
        // takes an A line with it for damage), and a UID is never given twice.
        using (var index = FolderIndex.Open(_directory.Path, SpecialUse.None, () => 7, sync: false, Mode, NullLogger.Instance))
        {
            index.Adopt(9, 4294967294);
            Assert.Equal(4294967294u, index.Add("1.M1P1Q1.host", DateTimeOffset.UnixEpoch, 10, MessageFlags.None, false, []).Uid);
            index.Commit();
            var error = Assert.Throws<MailboxStoreException>(() => index.Add("2.M1P1Q2.host", DateTimeOffset.UnixEpoch, 10, MessageFlags.None, false, []));
            Assert.Equal(MailboxStoreError.Unavailable, error.Error);
            Assert.Single(index.ByUid);
        }

        using var reopened = FolderIndex.Open(_directory.Path, SpecialUse.None, () => NewUidValidity, sync: false, Mode, NullLogger.Instance);
        Assert.Equal(NewUidValidity, reopened.UidValidity);
        Assert.Equal(1u, reopened.UidNext);
    }
}
