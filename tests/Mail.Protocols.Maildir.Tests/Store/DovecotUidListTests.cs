using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>
/// A Maildir Dovecot served before: the first time this store indexes a folder it takes over Dovecot's UIDVALIDITY
/// and UIDs from dovecot-uidlist, so IMAP clients need not resync and POP3 UIDLs stay. (The same with a real Dovecot
/// is in Interop/DovecotInteropTests.)
/// </summary>
public sealed class DovecotUidListTests : IDisposable
{
    private readonly StoreFixture _f = new();
    private static readonly string User = StoreFixture.User;

    public void Dispose() => _f.Dispose();

    private void MakeMaildir(string uidList, params (string Sub, string Name)[] files)
    {
        foreach (var sub in new[] { "cur", "new", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(_f.Inbox, sub));
        }
        var mtime = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        foreach (var (sub, name) in files)
        {
            var path = Path.Combine(_f.Inbox, sub, name);
            File.WriteAllText(path, $"From: bob@example.org\r\nSubject: {name}\r\n\r\nbody\r\n");
            // Arrival order (mtime) deliberately unlike UID order: adopted UIDs must not follow it.
            File.SetLastWriteTimeUtc(path, mtime = mtime.AddMinutes(-1));
        }
        File.WriteAllText(Path.Combine(_f.Inbox, "dovecot-uidlist"), uidList);
    }

    [Fact]
    public async Task A_folder_first_indexed_keeps_dovecots_uidvalidity_and_uids_and_unknown_files_get_uids_from_its_next_uid()
    {
        MakeMaildir(
            "3 V1275660208 N25 G3085f01b7f11094c501100008c4a11c1\n" +
            "3 :1700000003.M3P1.dove,S=60\n" +
            "7 W62 :1700000007.M7P1.dove,S=60\n" +
            "12 G0123456789abcdef :1700000012.M12P1.dove,S=60\n" +
            "15 :1700000015.M15P1.dove,S=60\n" + // expunged since: no file
            "not a record\n" +
            "20 :1700000020.M20P1.dove,S=60",     // torn last line without its newline still names a file
            ("cur", "1700000003.M3P1.dove,S=60:2,S"),
            ("cur", "1700000007.M7P1.dove,S=60:2,FS"),
            ("new", "1700000012.M12P1.dove,S=60"),
            ("new", "1700000020.M20P1.dove,S=60"),
            ("new", "1700000099.M99P1.other"));        // delivered by another MDA after Dovecot's last look

        var status = await _f.Store.GetStatusAsync(User, "INBOX");
        Assert.Equal(1275660208u, status.UidValidity);
        var list = await _f.Store.ListMessagesAsync(User, "INBOX");
        Assert.Equal(new uint[] { 3, 7, 12, 20, 25 }, list.Select(m => m.Uid));
        Assert.Equal(MessageFlags.Seen | MessageFlags.Flagged, list[1].Flags);
        Assert.Equal(26u, status.UidNext);
        Assert.True(_f.Logged(5006));

        // Our next message continues from there, and a restart replays our own index (the uidlist is not read again).
        var next = await _f.AppendAsync("ours");
        Assert.Equal(26u, next.Uid);
        File.WriteAllText(Path.Combine(_f.Inbox, "dovecot-uidlist"), "3 V999 N1000\n");
        var store = _f.Restart();
        Assert.Equal(1275660208u, (await store.GetStatusAsync(User, "INBOX")).UidValidity);
        Assert.Equal(new uint[] { 3, 7, 12, 20, 25, 26 }, (await store.ListMessagesAsync(User, "INBOX")).Select(m => m.Uid));
    }

    [Fact]
    public async Task The_version_1_layout_is_read_too()
    {
        MakeMaildir("1 1100000000 9\n2 1700000002.M2P1.dove\n5 1700000005.M5P1.dove:2,S\n",
            ("cur", "1700000002.M2P1.dove:2,"),
            ("cur", "1700000005.M5P1.dove:2,S"));
        var status = await _f.Store.GetStatusAsync(User, "INBOX");
        Assert.Equal((1100000000u, 9u), (status.UidValidity, status.UidNext));
        Assert.Equal(new uint[] { 2, 5 }, (await _f.Store.ListMessagesAsync(User, "INBOX")).Select(m => m.Uid));
        Assert.Equal(9u, (await _f.Store.AppendAsync(User, "INBOX", StoreFixture.Message("next"))).Uid);
    }

    [Theory]
    [InlineData("")]
    [InlineData("3 N5\n1 :1700000001.M1P1.dove\n")] // no UIDVALIDITY
    [InlineData("3 V0 N5\n1 :1700000001.M1P1.dove\n")]
    [InlineData("4 V123 N5\n1 :1700000001.M1P1.dove\n")] // a version this store does not know
    public async Task An_unusable_uidlist_header_is_ignored_and_the_folder_is_numbered_afresh(string uidList)
    {
        MakeMaildir(uidList, ("new", "1700000001.M1P1.dove"));
        var status = await _f.Store.GetStatusAsync(User, "INBOX");
        Assert.NotEqual(123u, status.UidValidity);
        Assert.Equal(1u, Assert.Single(await _f.Store.ListMessagesAsync(User, "INBOX")).Uid);
        Assert.Equal(2u, status.UidNext); // numbered afresh: not the list's N5
        Assert.False(_f.Logged(5006));
    }

    [Fact]
    public async Task A_first_indexing_cut_short_leaves_an_empty_index_and_the_next_start_still_takes_dovecots_uids()
    {
        MakeMaildir("3 V1275660208 N9\n4 :1700000004.M4P1.dove\n", ("cur", "1700000004.M4P1.dove:2,S"));
        // What a crash between creating the journal and writing its first snapshot leaves.
        File.WriteAllBytes(Path.Combine(_f.Inbox, "mailprotocols.index"), []);
        var status = await _f.Store.GetStatusAsync(User, "INBOX");
        Assert.Equal((1275660208u, 9u), (status.UidValidity, status.UidNext));
        Assert.Equal(4u, Assert.Single(await _f.Store.ListMessagesAsync(User, "INBOX")).Uid);
        Assert.False(_f.Logged(5001)); // not "unreadable index": nothing had been recorded
    }

    [Fact]
    public async Task A_listed_uid_no_uid_can_follow_makes_the_folder_numbered_afresh()
    {
        MakeMaildir("3 V1275660208 N5\n3 :1700000003.M3P1.dove\n4294967295 :1700000009.M9P1.dove\n",
            ("cur", "1700000003.M3P1.dove:2,S"), ("cur", "1700000009.M9P1.dove:2,S"), ("new", "1700000010.M10P1.other"));
        var status = await _f.Store.GetStatusAsync(User, "INBOX");
        Assert.NotEqual(1275660208u, status.UidValidity);
        Assert.Equal(new uint[] { 1, 2, 3 }, (await _f.Store.ListMessagesAsync(User, "INBOX")).Select(m => m.Uid));
        Assert.Equal(4u, status.UidNext);
    }

    [Fact]
    public async Task A_uidlist_appearing_after_this_store_indexed_the_folder_changes_nothing()
    {
        var first = await _f.AppendAsync("ours");
        var before = await _f.Store.GetStatusAsync(User, "INBOX");
        await File.WriteAllTextAsync(Path.Combine(_f.Inbox, "dovecot-uidlist"), "3 V42 N100\n");
        var store = _f.Restart();
        var after = await store.GetStatusAsync(User, "INBOX");
        Assert.Equal((before.UidValidity, before.UidNext), (after.UidValidity, after.UidNext)); // not the list's V42 N100
        Assert.Equal(first.Uid, Assert.Single(await store.ListMessagesAsync(User, "INBOX")).Uid);
        Assert.Equal(Encoding.ASCII.GetBytes("3 V42 N100\n"), await File.ReadAllBytesAsync(Path.Combine(_f.Inbox, "dovecot-uidlist")));
    }
}
