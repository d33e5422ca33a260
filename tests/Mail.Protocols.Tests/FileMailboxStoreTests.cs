using System.Text;
using CustomMailboxStore;
using Mail.Protocols.Storage;
using Mail.Protocols.Testing.Contracts;

namespace Mail.Protocols.Tests;

/// <summary>
/// The store of samples/CustomMailboxStore against the shared contract suite, plus what only a store on disk
/// has to get right: a restart, safe directory names, a full disk, concurrent appends.
/// </summary>
public sealed class FileMailboxStoreTests : DurableMailboxStoreContractTests, IDisposable
{
    private readonly List<string> _directories = [];
    private readonly Dictionary<IMailboxStore, string> _roots = [];

    protected override IMailboxStore CreateStore()
    {
        var directory = NewDirectory();
        var store = new FileMailboxStore(directory);
        _roots[store] = directory;
        return store;
    }

    // The store keeps nothing open between calls: a second instance on the same directory is a restart.
    protected override IMailboxStore Reopen(IMailboxStore store)
    {
        var reopened = new FileMailboxStore(_roots[store]);
        _roots[reopened] = _roots[store];
        return reopened;
    }

    protected override IMailboxStore OpenAlongside(IMailboxStore store) => new FileMailboxStore(_roots[store]);

    private string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "file-store-tests", Guid.NewGuid().ToString("N"));
        _directories.Add(directory);
        return directory;
    }

    public void Dispose()
    {
        foreach (var directory in _directories.Where(Directory.Exists))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static MemoryStream Message(string subject) =>
        new(Encoding.ASCII.GetBytes($"From: bob@example.org\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\r\nHello.\r\n"));

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Every_file_the_store_creates_is_0600_and_every_directory_0700()
    {
        // Mail no other local user can read, as the Maildir store keeps it: the modes are given at creation.
        var root = NewDirectory();
        var store = new FileMailboxStore(root);
        await store.AppendAsync("alice@example.test", "INBOX", Message("one"));
        await store.CreateFolderAsync("alice@example.test", "Archive");
        await store.CopyAsync("alice@example.test", "INBOX", [1], "Archive");
        await store.UpdateFlagsAsync("alice@example.test", "INBOX", [1], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen));

        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories);
        var directories = Directory.GetDirectories(root, "*", SearchOption.AllDirectories);
        Assert.True(files.Length >= 5, string.Join(", ", files)); // two messages, two indexes, the folder list
        Assert.All(files, f => Assert.Equal((f, UnixFileMode.UserRead | UnixFileMode.UserWrite), (f, File.GetUnixFileMode(f))));
        Assert.All([root, .. directories], d =>
            Assert.Equal((d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute), (d, File.GetUnixFileMode(d))));
    }

    [Fact]
    public async Task Logins_with_one_normal_form_are_one_user_and_distinct_logins_get_distinct_directories()
    {
        // The user directory finds kate under these spellings, so the store must give them kate's mailbox.
        var store = new FileMailboxStore(NewDirectory());
        await store.AppendAsync("kate@example.test", "INBOX", Message("for kate"));
        foreach (var spelling in new[] { "\u212Aate@example.test", "\uFF4B\uFF41\uFF54\uFF45@example.test", "KATE@example.test" })
        {
            Assert.Single(await store.ListMessagesAsync(spelling, "INBOX"));
        }
        await store.AppendAsync("ivan@example.test", "INBOX", Message("for ivan"));
        Assert.Empty(await store.ListMessagesAsync("\u0131van@example.test", "INBOX")); // dotless i: another login
        Assert.Equal(MailboxStoreError.InvalidName,
            (await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.ListMessagesAsync("kate\uD800@example.test", "INBOX"))).Error);
    }

    [Fact]
    public async Task Messages_flags_and_folders_survive_a_new_store_instance_and_uids_are_not_reused()
    {
        var directory = NewDirectory();
        var store = new FileMailboxStore(directory);
        await store.CreateFolderAsync(User, "Archive", SpecialUse.Archive);
        var kept = await store.AppendAsync(User, "INBOX", Message("kept"), new AppendOptions(InternalDate: new DateTimeOffset(2026, 11, 1, 8, 30, 0, TimeSpan.FromHours(1))));
        var removed = await store.AppendAsync(User, "INBOX", Message("removed"));
        await store.UpdateFlagsAsync(User, "INBOX", [kept.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen | MessageFlags.Answered, ["$Forwarded"]));
        await store.ExpungeAsync(User, "INBOX", [removed.Uid]);
        var before = await store.GetStatusAsync(User, "INBOX");
        var messageBefore = Assert.Single(await store.ListMessagesAsync(User, "INBOX"));

        var reopened = new FileMailboxStore(directory);
        Assert.Equal(before, await reopened.GetStatusAsync(User, "INBOX"));
        var message = Assert.Single(await reopened.ListMessagesAsync(User, "INBOX"));
        Assert.Equal((messageBefore.Uid, messageBefore.Flags, messageBefore.InternalDate, messageBefore.Size, messageBefore.ModSeq),
            (message.Uid, message.Flags, message.InternalDate, message.Size, message.ModSeq));
        Assert.Equal(["$Forwarded"], message.Keywords);
        Assert.Contains(await reopened.ListFoldersAsync(User), f => f.Name == "Archive" && f.SpecialUse == SpecialUse.Archive);
        await using (var content = await reopened.OpenContentAsync(User, "INBOX", kept.Uid))
        {
            Assert.Contains("Subject: kept", await new StreamReader(content).ReadToEndAsync(), StringComparison.Ordinal);
        }
        // The expunged message had the highest UID; a new message still gets a higher one.
        Assert.True((await reopened.AppendAsync(User, "INBOX", Message("new"))).Uid > removed.Uid);
    }

    [Fact]
    public async Task User_names_stay_inside_the_root_and_ignore_case()
    {
        var directory = NewDirectory();
        var root = Path.Combine(directory, "root");
        var store = new FileMailboxStore(root);
        string[] users = ["../../evil", "..", "a/b\\c", "tab\tname", "ünïcode@example.test", "Alice@Example.Test"];
        foreach (var user in users)
        {
            await store.AppendAsync(user, "INBOX", Message(user));
        }

        Assert.Equal([root], Directory.GetFileSystemEntries(directory)); // nothing escaped the root
        var userDirectories = Directory.GetDirectories(root).Select(Path.GetFileName).Where(n => n != ".tmp").ToList();
        Assert.Equal(users.Length, userDirectories.Count);
        Assert.All(userDirectories, name => Assert.DoesNotMatch(@"^\.|[/\\\t]", name!));
        Assert.Contains("alice@example.test", userDirectories);
        Assert.Single(await store.ListMessagesAsync("alice@example.test", "INBOX"));
        foreach (var user in users)
        {
            Assert.Single(await store.ListMessagesAsync(user, "INBOX"));
        }
    }

    [Fact]
    public async Task A_full_disk_is_reported_as_insufficient_storage_and_stores_nothing()
    {
        var directory = NewDirectory();
        var store = new FileMailboxStore(directory);
        await store.ListFoldersAsync(User); // creates the INBOX directory
        var inbox = Path.GetDirectoryName(Directory.GetFiles(directory, "index.json", SearchOption.AllDirectories).Single())!;
        // The index is written to index.json.tmp first; pointing that name at /dev/full makes the write fail
        // with ENOSPC, exactly as a full file system would.
        File.CreateSymbolicLink(Path.Combine(inbox, "index.json.tmp"), "/dev/full");

        var error = await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.AppendAsync(User, "INBOX", Message("too much")));

        Assert.Equal(MailboxStoreError.InsufficientStorage, error.Error);
        Assert.Empty(await store.ListMessagesAsync(User, "INBOX"));
        Assert.Empty(Directory.GetFiles(inbox, "*.eml"));
        Assert.Empty(Directory.GetFiles(Path.Combine(directory, ".tmp")));
        // The failed write removed its temp name, so the next append works and gets the first UID.
        Assert.Equal(1u, (await store.AppendAsync(User, "INBOX", Message("fits"))).Uid);
    }

    [Fact]
    public async Task Concurrent_appends_and_flag_changes_lose_nothing()
    {
        var directory = NewDirectory();
        var store = new FileMailboxStore(directory);
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            var appended = await store.AppendAsync(User, "INBOX", Message($"message {i}"));
            await store.UpdateFlagsAsync(User, "INBOX", [appended.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen));
            return appended.Uid;
        })));

        Assert.Equal(40, results.Distinct().Count());
        var messages = await new FileMailboxStore(directory).ListMessagesAsync(User, "INBOX");
        Assert.Equal(results.Order(), messages.Select(m => m.Uid));
        Assert.All(messages, m => Assert.Equal(MessageFlags.Seen, m.Flags));
        Assert.Equal(messages.Count, messages.Select(m => m.ModSeq).Distinct().Count());
    }

    [Fact]
    public async Task Missing_folders_messages_and_bad_names_are_store_errors()
    {
        var store = CreateStore();
        Assert.Equal(MailboxStoreError.FolderNotFound, (await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.AppendAsync(User, "Nope", Message("x")))).Error);
        Assert.Equal(MailboxStoreError.MessageNotFound, (await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.OpenContentAsync(User, "INBOX", 7))).Error);
        Assert.Equal(MailboxStoreError.MessageNotFound, (await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.GetSummaryAsync(User, "INBOX", 7))).Error);
        Assert.Equal(MailboxStoreError.InvalidName, (await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.CreateFolderAsync(User, "a//b"))).Error);
        Assert.Equal(MailboxStoreError.NotAllowed, (await Assert.ThrowsAsync<MailboxStoreException>(async () => await store.DeleteFolderAsync(User, "inbox"))).Error);
    }
}
