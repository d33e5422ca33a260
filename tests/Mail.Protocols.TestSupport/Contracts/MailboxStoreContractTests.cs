using System.Text;
using Mail.Protocols.Storage;
using Xunit;

namespace Mail.Protocols.TestSupport.Contracts;

/// <summary>
/// The <see cref="IMailboxStore"/> contract as tests: derive from this class in a test project, return a new,
/// empty store from <see cref="CreateStore"/>, and every backend (in-memory, Maildir, yours) is held to the same
/// behaviour. See docs/implementing-a-mailbox-store.md.
/// </summary>
public abstract class MailboxStoreContractTests
{
    /// <summary>A new, empty store for one test.</summary>
    protected abstract IMailboxStore CreateStore();

    protected const string User = "alice@example.test";
    private static readonly byte[] s_message = Encoding.ASCII.GetBytes(
        "From: Bob <bob@example.org>\r\nTo: alice@example.test, Group: a@x.test, b@x.test;\r\nSubject: hi\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n" +
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\nworld\r\n--b\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=a.bin\r\n\r\nAAEC\r\n--b--\r\n");

    private static async Task<AppendResult> AppendAsync(IMailboxStore store, string folder = "INBOX", MessageFlags flags = MessageFlags.None) =>
        await store.AppendAsync(User, folder, new MemoryStream(s_message), new AppendOptions(flags));

    [Fact]
    public async Task Inbox_exists_and_appends_get_ascending_uids_and_modseqs()
    {
        var store = CreateStore();
        var folders = await store.ListFoldersAsync(User);
        Assert.Equal("INBOX", Assert.Single(folders).Name);
        var first = await AppendAsync(store);
        var second = await AppendAsync(store, "inbox");
        Assert.True(second.Uid > first.Uid);
        var status = await store.GetStatusAsync(User, "INBOX");
        Assert.Equal(2, status.Messages);
        Assert.Equal(2, status.Unseen);
        Assert.Equal(second.Uid + 1, status.UidNext);
        Assert.Equal(first.UidValidity, status.UidValidity);
        var list = await store.ListMessagesAsync(User, "INBOX");
        Assert.True(list[1].ModSeq > list[0].ModSeq);
        Assert.Equal(status.HighestModSeq, list[1].ModSeq);
    }

    [Fact]
    public async Task Content_reads_back_byte_for_byte_and_seeks()
    {
        var store = CreateStore();
        var appended = await AppendAsync(store);
        await using var stream = await store.OpenContentAsync(User, "INBOX", appended.Uid);
        Assert.True(stream.CanSeek);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(s_message, copy.ToArray());
        stream.Position = 6;
        Assert.Equal((byte)'B', (byte)stream.ReadByte());
    }

    [Fact]
    public async Task Flags_update_with_unchangedsince_and_notifications_reach_observers()
    {
        var store = CreateStore();
        var changes = new List<MailboxChange>();
        using var subscription = store.Subscribe(User, new Observer(changes));
        var a = await AppendAsync(store);
        var b = await AppendAsync(store);
        var before = await store.ListMessagesAsync(User, "INBOX");
        var result = await store.UpdateFlagsAsync(User, "INBOX", [a.Uid, b.Uid, 999], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen, ["$Forwarded"]));
        Assert.Equal(2, result.Updated.Count);
        Assert.All(result.Updated, m => Assert.True(m.Flags.HasFlag(MessageFlags.Seen)));
        Assert.Contains("$Forwarded", result.Updated[0].Keywords);
        var stale = await store.UpdateFlagsAsync(User, "INBOX", [a.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Flagged), unchangedSince: before[0].ModSeq);
        Assert.Equal([a.Uid], stale.Modified);
        Assert.Equal(0, (await store.GetStatusAsync(User, "INBOX")).Unseen);
        Assert.Equal(2, changes.Count(c => c.Kind == MailboxChangeKind.MessageAdded));
        Assert.Equal(2, changes.Count(c => c.Kind == MailboxChangeKind.FlagsChanged));
    }

    [Fact]
    public async Task Expunge_removes_deleted_or_given_uids_and_notifies()
    {
        var store = CreateStore();
        var changes = new List<MailboxChange>();
        using var subscription = store.Subscribe(User, new Observer(changes));
        var a = await AppendAsync(store, flags: MessageFlags.Deleted);
        var b = await AppendAsync(store);
        var c = await AppendAsync(store);
        Assert.Equal([a.Uid], await store.ExpungeAsync(User, "INBOX"));
        Assert.Equal([c.Uid], await store.ExpungeAsync(User, "INBOX", [c.Uid, 12345]));
        Assert.Equal(b.Uid, Assert.Single(await store.ListMessagesAsync(User, "INBOX")).Uid);
        Assert.Equal(2, changes.Count(x => x.Kind == MailboxChangeKind.MessageExpunged));
    }

    [Fact]
    public async Task Folders_copy_move_rename_and_delete()
    {
        var store = CreateStore();
        await store.CreateFolderAsync(User, "Archive/2026", SpecialUse.Archive);
        await store.CreateFolderAsync(User, "Trash", SpecialUse.Trash);
        await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.CreateFolderAsync(User, "Trash"));
        var folders = await store.ListFoldersAsync(User);
        Assert.Contains(folders, f => f.Name == "Archive" && f.HasChildren);
        Assert.Contains(folders, f => f.Name == "Trash" && f.SpecialUse == SpecialUse.Trash);

        var a = await AppendAsync(store, flags: MessageFlags.Flagged);
        var copy = await store.CopyAsync(User, "INBOX", [a.Uid], "Archive/2026");
        Assert.Equal([a.Uid], copy.SourceUids);
        var copied = Assert.Single(await store.ListMessagesAsync(User, "Archive/2026"));
        Assert.Equal(copy.TargetUids[0], copied.Uid);
        Assert.True(copied.Flags.HasFlag(MessageFlags.Flagged));

        await store.MoveAsync(User, "INBOX", [a.Uid], "Trash");
        Assert.Empty(await store.ListMessagesAsync(User, "INBOX"));
        Assert.Single(await store.ListMessagesAsync(User, "Trash"));

        await store.RenameFolderAsync(User, "Archive", "Old");
        Assert.Single(await store.ListMessagesAsync(User, "Old/2026"));
        await store.DeleteFolderAsync(User, "Trash");
        var error = await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.ListMessagesAsync(User, "Trash"));
        Assert.Equal(MailboxStoreError.FolderNotFound, error.Error);
        var inbox = await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.DeleteFolderAsync(User, "INBOX"));
        Assert.Equal(MailboxStoreError.NotAllowed, inbox.Error);
    }

    [Fact]
    public async Task Renaming_inbox_moves_its_messages_and_leaves_it_empty()
    {
        var store = CreateStore();
        await AppendAsync(store);
        await store.RenameFolderAsync(User, "INBOX", "Old-Inbox");
        Assert.Empty(await store.ListMessagesAsync(User, "INBOX"));
        Assert.Single(await store.ListMessagesAsync(User, "Old-Inbox"));
    }

    [Fact]
    public async Task Append_that_fails_mid_stream_stores_nothing()
    {
        var store = CreateStore();
        await Assert.ThrowsAsync<IOException>(async () => await store.AppendAsync(User, "INBOX", new FailingStream()));
        Assert.Empty(await store.ListMessagesAsync(User, "INBOX"));
    }

    [Fact]
    public async Task Summary_has_envelope_and_body_structure_with_offsets()
    {
        var store = CreateStore();
        var a = await AppendAsync(store);
        var summary = await store.GetSummaryAsync(User, "INBOX", a.Uid);
        Assert.Equal("hi", summary.Envelope.Subject);
        Assert.Equal("<1@example.org>", summary.Envelope.MessageId);
        Assert.Equal("Bob", summary.Envelope.From[0].Name);
        Assert.Equal(summary.Envelope.From, summary.Envelope.Sender);
        Assert.Equal(5, summary.Envelope.To.Count); // alice, group start, two members, group end
        Assert.Equal("multipart", summary.Body.MediaType);
        Assert.Equal("mixed", summary.Body.MediaSubtype);
        Assert.Equal(2, summary.Body.Children.Count);
        var text = summary.Body.Children[0];
        Assert.Equal("plain", text.MediaSubtype);
        // The CRLF before a boundary belongs to the boundary (RFC 2046 §5.1.1), not to the part.
        Assert.Equal("hello\r\nworld", Encoding.ASCII.GetString(s_message, (int)text.BodyOffset, (int)text.BodySize));
        var attachment = summary.Body.Children[1];
        Assert.Equal("attachment", attachment.Disposition);
        Assert.Equal("base64", attachment.TransferEncoding);
        Assert.Equal("AAEC", Encoding.ASCII.GetString(s_message, (int)attachment.BodyOffset, (int)attachment.BodySize));
    }

    private sealed class Observer(List<MailboxChange> changes) : IMailboxObserver
    {
        public void OnChange(MailboxChange change)
        {
            lock (changes)
            {
                changes.Add(change);
            }
        }
    }

    private sealed class FailingStream : Stream
    {
        private int _reads;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _reads++ == 0 ? 10 : throw new IOException("disk went away");
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
