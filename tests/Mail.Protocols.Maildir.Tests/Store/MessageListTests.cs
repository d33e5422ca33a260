using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>
/// The folder's message list is one immutable list per state of the folder: an unchanged folder is listed without a copy,
/// and every change, by a session of this store or by another program in the Maildir, gives the next listing a new list
/// (the old one, which callers may still hold, stays as it was).
/// </summary>
public sealed class MessageListTests : IDisposable
{
    private readonly StoreFixture _f = new();
    private static readonly string User = StoreFixture.User;

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task An_unchanged_folder_is_listed_as_the_same_list_with_one_lock()
    {
        await _f.AppendAsync("a");
        await _f.AppendAsync("b");
        var first = await _f.Store.ListMessagesAsync(User, "INBOX");
        var before = _f.Store.GateEntries;
        var second = await _f.Store.ListMessagesAsync(User, "INBOX");
        Assert.Equal(1, _f.Store.GateEntries - before);
        Assert.Same(first, second);
        Assert.Same(first, (await _f.Store.OpenFolderAsync(User, "INBOX")).Messages);
        Assert.Equal(2, second.Count);
    }

    [Fact]
    public async Task A_flag_change_by_another_session_gives_a_new_list_and_a_new_info_only_for_the_changed_message()
    {
        var a = await _f.AppendAsync("a");
        var b = await _f.AppendAsync("b");
        var before = await _f.Store.ListMessagesAsync(User, "INBOX");

        await _f.Store.UpdateFlagsAsync(User, "INBOX", [a.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Flagged, ["Work"]));
        var after = await _f.Store.ListMessagesAsync(User, "INBOX");

        Assert.NotSame(before, after);
        Assert.Equal(MessageFlags.Flagged, after[0].Flags);
        Assert.Equal(["Work"], after[0].Keywords);
        Assert.True(after[0].ModSeq > before[0].ModSeq);
        Assert.Same(before[1], after[1]); // b did not change: its info is shared, not made again
        // The list handed out before is a snapshot: it did not change.
        Assert.Equal(MessageFlags.None, before[0].Flags);
        Assert.Empty(before[0].Keywords);
        Assert.Equal([a.Uid, b.Uid], after.Select(m => m.Uid));
    }

    [Fact]
    public async Task Appends_and_expunges_give_a_new_list()
    {
        var a = await _f.AppendAsync("a");
        var before = await _f.Store.ListMessagesAsync(User, "INBOX");
        var b = await _f.AppendAsync("b");
        var appended = await _f.Store.ListMessagesAsync(User, "INBOX");
        Assert.Equal([a.Uid, b.Uid], appended.Select(m => m.Uid));
        await _f.Store.ExpungeAsync(User, "INBOX", [a.Uid]);
        Assert.Equal([b.Uid], (await _f.Store.ListMessagesAsync(User, "INBOX")).Select(m => m.Uid));
        await _f.Store.CreateFolderAsync(User, "Archive");
        await _f.Store.MoveAsync(User, "INBOX", [b.Uid], "Archive");
        Assert.Empty(await _f.Store.ListMessagesAsync(User, "INBOX"));
        Assert.Single(await _f.Store.ListMessagesAsync(User, "Archive"));
        Assert.Equal([a.Uid], before.Select(m => m.Uid)); // unchanged
    }

    [Fact]
    public async Task Changes_by_another_program_in_the_maildir_appear_in_the_next_list()
    {
        var a = await _f.AppendAsync("a");
        var b = await _f.AppendAsync("b");
        var c = await _f.AppendAsync("c");
        var before = await _f.Store.ListMessagesAsync(User, "INBOX");
        Assert.Equal(3, before.Count);

        // Another program (mutt, Dovecot, an MDA) deletes a, flags b and delivers a new message, all in the same second
        // as the listing: the list kept for the folder must not hide any of it.
        var files = Directory.GetFiles(Path.Combine(_f.Inbox, "new"));
        string FileOf(string subject) => files.Single(p => File.ReadAllText(p).Contains($"Subject: {subject}\r\n", StringComparison.Ordinal));
        var fileOfA = FileOf("a");
        var fileOfB = FileOf("b");
        File.Delete(fileOfA);
        File.Move(fileOfB, Path.Combine(_f.Inbox, "cur", Path.GetFileName(fileOfB) + ":2,FS"));
        var tmp = Path.Combine(_f.Inbox, "tmp", "1700000000.M1P99.other");
        await File.WriteAllBytesAsync(tmp, Encoding.ASCII.GetBytes("From: mda@example.org\r\nSubject: dropped\r\n\r\nhi\r\n"));
        File.Move(tmp, Path.Combine(_f.Inbox, "new", "1700000000.M1P99.other"));

        var after = await _f.Store.ListMessagesAsync(User, "INBOX");
        Assert.NotSame(before, after);
        Assert.Equal(3, after.Count);
        Assert.DoesNotContain(after, m => m.Uid == a.Uid);
        Assert.Equal(MessageFlags.Flagged | MessageFlags.Seen, after.Single(m => m.Uid == b.Uid).Flags);
        Assert.Same(before[2], after.Single(m => m.Uid == c.Uid));
        Assert.True(after[^1].Uid > c.Uid);
        Assert.Equal(3, before.Count); // unchanged
        Assert.Equal(MessageFlags.None, before[1].Flags);
    }
}
