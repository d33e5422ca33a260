using System.Text;
using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Queue;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>
/// Mail is private by default: every file the Maildir store and the file queue create is 0600 and every
/// directory 0700, whatever the umask; operators who share a Maildir with a group set the modes they want.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FileModeTests : IDisposable
{
    private const string User = "alice@example.test";
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;
    private const UnixFileMode GroupRead = Private | UnixFileMode.GroupRead;
    private const UnixFileMode GroupReadDirectory = PrivateDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    public static TheoryData<bool> Configured() => [false, true];

    [Theory]
    [MemberData(nameof(Configured))]
    public async Task Every_file_and_directory_of_the_maildir_store_has_the_configured_mode(bool groupShared)
    {
        var root = _directory.Combine("mail"); // created by the store
        var options = new MaildirStoreOptions { RootPath = root, HostName = "test.host" };
        if (groupShared)
        {
            options.FilePermissions = GroupRead;
            options.DirectoryPermissions = GroupReadDirectory;
        }
        using (var store = new MaildirMailboxStore(options))
        {
            // Everything the store writes: messages in new/ and cur/, folders, keywords, the index, summaries,
            // lock files, copies, and INBOX renamed into a new folder.
            var plain = await store.AppendAsync(User, "INBOX", Message("plain"));
            var flagged = await store.AppendAsync(User, "INBOX", Message("flagged"), new AppendOptions(MessageFlags.Seen, ["Work"]));
            await store.CreateFolderAsync(User, "Archive/2026");
            await store.CopyAsync(User, "INBOX", [plain.Uid, flagged.Uid], "Archive/2026");
            await store.GetSummaryAsync(User, "INBOX", plain.Uid);
            await store.UpdateFlagsAsync(User, "INBOX", [plain.Uid], new FlagChange(FlagChangeMode.Add, MessageFlags.Flagged, ["Later"]));
            await store.AddSubscriptionAsync(User, "Archive/2026");
            await store.RenameFolderAsync(User, "INBOX", "Old");
        }
        var (files, directories) = AssertModes(root, groupShared ? GroupRead : Private, groupShared ? GroupReadDirectory : PrivateDirectory);
        Assert.Contains(files, f => f.EndsWith("mailprotocols.index", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("mailprotocols.summaries", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("dovecot-keywords", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("mailprotocols.lock", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("maildirfolder", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("mailprotocols.uidvalidity", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith($"{Path.DirectorySeparatorChar}subscriptions", StringComparison.Ordinal));
        Assert.Equal(4, files.Count(f => f.Contains($"{Path.DirectorySeparatorChar}cur{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            || f.Contains($"{Path.DirectorySeparatorChar}new{Path.DirectorySeparatorChar}", StringComparison.Ordinal)));
        Assert.Contains(directories, d => d.EndsWith(".Archive.2026", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Configured))]
    public async Task Every_file_and_directory_of_the_file_queue_has_the_configured_mode(bool groupShared)
    {
        var root = _directory.Combine("queue");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var options = new FileMessageQueueOptions { Path = root, TimeProvider = time };
        if (groupShared)
        {
            options.FilePermissions = GroupRead;
            options.DirectoryPermissions = GroupReadDirectory;
        }
        using (var queue = new FileMessageQueue(options))
        {
            var envelope = new QueueEnvelope("alice@example.test", [new QueueRecipient("bob@remote.test")], time.GetUtcNow());
            await queue.EnqueueAsync(envelope, new MemoryStream("Subject: queued\r\n\r\nbody\r\n"u8.ToArray()));
            await queue.EnqueueAsync(envelope, new MemoryStream("Subject: second\r\n\r\nbody\r\n"u8.ToArray()));
            var lease = (await queue.LeaseAsync(1, TimeSpan.FromMinutes(5)))[0];
            await queue.RescheduleAsync(lease, lease.Recipients, time.GetUtcNow().AddMinutes(15));
        }
        var (files, _) = AssertModes(root, groupShared ? GroupRead : Private, groupShared ? GroupReadDirectory : PrivateDirectory);
        Assert.Equal(2, files.Count(f => Path.GetDirectoryName(f) == Path.Combine(root, "msg")));
        Assert.Equal(2, files.Count(f => Path.GetDirectoryName(f) == Path.Combine(root, "env")));
        Assert.Contains(Path.Combine(root, "queue.lock"), files);
    }

    [Fact]
    public async Task A_host_running_under_umask_000_still_creates_private_mail_queue_and_spool_files()
    {
        // The modes are given when files are created, so even an empty umask widens nothing.
        var root = _directory.Combine("mail");
        var queueDirectory = _directory.Combine("queue");
        var temporary = _directory.Combine("tmp");
        Directory.CreateDirectory(temporary);
        using (var host = await Crash.ChildHost.StartWithUmaskAsync(root, queueDirectory, "000", temporary, "--no-delivery"))
        {
            var spool = Assert.Single(Directory.GetDirectories(temporary, "mailprotocols-spool-*"));
            Assert.Equal(PrivateDirectory, File.GetUnixFileMode(spool));
            using var client = new MailKit.Net.Smtp.SmtpClient();
            await client.ConnectAsync("127.0.0.1", host.SubmissionPort, MailKit.Security.SecureSocketOptions.None);
            await client.AuthenticateAsync(User, "alice");
            foreach (var to in new[] { User, "bob@remote.test" }) // into the Maildir, and into the queue
            {
                var message = new MimeKit.MimeMessage();
                message.From.Add(MimeKit.MailboxAddress.Parse(User));
                message.To.Add(MimeKit.MailboxAddress.Parse(to));
                message.Subject = "umask";
                message.Body = new MimeKit.TextPart("plain") { Text = "hello\r\n" };
                await client.SendAsync(message);
            }
            await client.DisconnectAsync(true);
            host.KillHard();
        }
        var (mailFiles, _) = AssertModes(root, Private, PrivateDirectory);
        Assert.Single(mailFiles, f => Path.GetDirectoryName(f) == Path.Combine(root, User, "new"));
        var (queueFiles, _) = AssertModes(queueDirectory, Private, PrivateDirectory);
        Assert.Single(queueFiles, f => Path.GetDirectoryName(f) == Path.Combine(queueDirectory, "env"));
    }

    [Fact]
    public void Modes_beyond_read_write_and_execute_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaildirStoreOptions { FilePermissions = Private | UnixFileMode.SetUser });
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileMessageQueueOptions { DirectoryPermissions = PrivateDirectory | UnixFileMode.StickyBit });
    }

    // Asserts the mode of the root and everything below it; returns the files and directories seen.
    private static (List<string> Files, List<string> Directories) AssertModes(string root, UnixFileMode file, UnixFileMode directory)
    {
        var directories = Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Prepend(root).ToList();
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToList();
        Assert.All(directories, d => Assert.Equal((d, directory), (d, File.GetUnixFileMode(d))));
        Assert.All(files, f => Assert.Equal((f, file), (f, File.GetUnixFileMode(f))));
        return (files, directories);
    }

    private static MemoryStream Message(string subject) =>
        new(Encoding.ASCII.GetBytes($"From: bob@example.org\r\nTo: {User}\r\nSubject: {subject}\r\n\r\nbody\r\n"));
}
