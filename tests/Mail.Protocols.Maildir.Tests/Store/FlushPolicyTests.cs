using System.Text;
using Mail.Protocols.Maildir.Index;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>
/// Which operations flush to the disk: new mail always (with <see cref="MaildirStoreOptions.Fsync"/>), flag changes and
/// expunges only with <see cref="MaildirStoreOptions.FsyncFlagsAndExpunges"/>. The store tells
/// <see cref="MaildirStoreOptions.Flushing"/> the path of every folder directory and index it flushes.
/// </summary>
public sealed class FlushPolicyTests : IDisposable
{
    private const string User = "alice@example.test";
    private readonly TempDirectory _root = new();
    private readonly List<string> _flushed = [];

    public void Dispose() => _root.Dispose();

    private MaildirMailboxStore Open(bool fsync = true, bool flagsAndExpunges = false) => new(new MaildirStoreOptions
    {
        RootPath = _root.Path,
        HostName = "test.host",
        Fsync = fsync,
        FsyncFlagsAndExpunges = flagsAndExpunges,
        Flushing = path =>
        {
            lock (_flushed)
            {
                _flushed.Add(Path.GetRelativePath(_root.Path, path).Replace('\\', '/'));
            }
        },
    });

    private List<string> Take()
    {
        lock (_flushed)
        {
            var taken = _flushed.ToList();
            _flushed.Clear();
            return taken;
        }
    }

    private static MemoryStream Message(string subject) =>
        new(Encoding.UTF8.GetBytes($"From: bob@example.org\r\nTo: {User}\r\nSubject: {subject}\r\n\r\nbody\r\n"));

    private static string InboxIndex => $"{User}/{FolderIndex.FileName}";

    private static string InboxCur => $"{User}/cur";

    [Fact]
    public async Task By_default_new_mail_is_flushed_but_flag_changes_and_expunges_are_not()
    {
        using (var store = Open())
        {
            var first = await store.AppendAsync(User, "INBOX", Message("one"));
            var second = await store.AppendAsync(User, "INBOX", Message("two"));
            Assert.Contains(InboxIndex, Take());

            await store.UpdateFlagsAsync(User, "INBOX", [first.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen | MessageFlags.Flagged));
            Assert.Empty(Take());
            await store.ExpungeAsync(User, "INBOX", [second.Uid]);
            Assert.Empty(Take());
        }

        // Written all the same, only not flushed: a restart (or a process crash) finds both.
        using (var store = Open())
        {
            var messages = await store.ListMessagesAsync(User, "INBOX");
            var only = Assert.Single(messages);
            Assert.Equal(MessageFlags.Seen | MessageFlags.Flagged, only.Flags);
        }
    }

    [Fact]
    public async Task With_FsyncFlagsAndExpunges_a_flag_change_and_an_expunge_flush_cur_and_the_index()
    {
        using var store = Open(flagsAndExpunges: true);
        var first = await store.AppendAsync(User, "INBOX", Message("one"));
        var second = await store.AppendAsync(User, "INBOX", Message("two"));
        Take();

        await store.UpdateFlagsAsync(User, "INBOX", [first.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen));
        Assert.Equal([InboxCur, InboxIndex], Take());
        await store.ExpungeAsync(User, "INBOX", [second.Uid]);
        Assert.Equal([InboxCur, InboxIndex], Take());
    }

    [Fact]
    public async Task A_move_is_new_mail_and_flushes_both_folders_by_default()
    {
        using var store = Open();
        await store.CreateFolderAsync(User, "Archive");
        var message = await store.AppendAsync(User, "INBOX", Message("one"));
        Take();

        await store.MoveAsync(User, "INBOX", [message.Uid], "Archive");
        var flushed = Take();
        Assert.Contains($"{User}/.Archive/{FolderIndex.FileName}", flushed);
        Assert.Contains(InboxCur, flushed);
        Assert.Contains(InboxIndex, flushed);
    }

    [Fact]
    public async Task Without_Fsync_nothing_is_flushed_whatever_FsyncFlagsAndExpunges_says()
    {
        using var store = Open(fsync: false, flagsAndExpunges: true);
        var message = await store.AppendAsync(User, "INBOX", Message("one"));
        await store.UpdateFlagsAsync(User, "INBOX", [message.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Deleted));
        await store.ExpungeAsync(User, "INBOX");
        Assert.Empty(Take());
    }
}
