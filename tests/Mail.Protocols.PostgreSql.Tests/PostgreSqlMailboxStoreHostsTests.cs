using System.Net;
using System.Text;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.Imap;
using Mail.Protocols.InMemory;
using Mail.Protocols.PostgreSql.Mailboxes;
using Mail.Protocols.PostgreSql.Schema;
using Mail.Protocols.Smtp;
using Mail.Protocols.Storage;
using Mail.Protocols.Testing.Contracts;
using MimeKit;
using Npgsql;
using StoreFlags = Mail.Protocols.Storage.MessageFlags;

namespace Mail.Protocols.PostgreSql.Tests;

/// <summary>
/// Two store instances on one database, as two hosts have them: what one changes, the sessions of the other hear through
/// LISTEN/NOTIFY (and by reading again after a lost notification connection), and real clients on each see it.
/// </summary>
public sealed class PostgreSqlMailboxStoreHostsTests(PostgresServer server) : IClassFixture<PostgresServer>, IAsyncDisposable
{
    private const string User = "alice@example.test";
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10); // a bound for a failing test, not a measurement
    private readonly List<IAsyncDisposable> _owned = [];

    private async Task<(PostgreSqlMailboxStore A, PostgreSqlMailboxStore B, string ConnectionString)> TwoHostsAsync()
    {
        var connectionString = await server.CreateDatabaseAsync();
        var a = Store(connectionString);
        await PostgreSqlSchema.ApplyAsync(_sourceOfLast!);
        var b = Store(connectionString);
        return (a, b, connectionString);
    }

    private NpgsqlDataSource? _sourceOfLast;

    private PostgreSqlMailboxStore Store(string connectionString)
    {
        var source = NpgsqlDataSource.Create(connectionString);
        var store = new PostgreSqlMailboxStore(source);
        _owned.Add(source);
        _owned.Add(store);
        _sourceOfLast = source;
        return store;
    }

    private static MemoryStream Message(string subject) =>
        new(Encoding.ASCII.GetBytes($"From: bob@example.org\r\nTo: {User}\r\nSubject: {subject}\r\n\r\nHello.\r\n"));

    // Waits for the next batch of the subscription (a failing test ends at the bound).
    private static async Task<MailboxChangeBatch> NextAsync(MailboxSubscription subscription)
    {
        using var timeout = new CancellationTokenSource(s_wait);
        Assert.True(await subscription.WaitToReadAsync(timeout.Token), "the subscription was disposed");
        Assert.True(subscription.TryRead(out var batch));
        return batch;
    }

    [Fact]
    public async Task Appends_flag_changes_expunges_and_folder_changes_on_one_host_reach_the_sessions_of_the_other()
    {
        var (a, b, _) = await TwoHostsAsync();
        using var onB = b.Subscribe(User);
        var opened = await b.OpenFolderAsync(User, "INBOX", onB);
        Assert.Empty(opened.Messages);

        var appended = await a.AppendAsync(User, "INBOX", Message("one"));
        var added = Assert.Single((await NextAsync(onB)).Changes);
        Assert.Equal((MailboxChangeKind.MessageAdded, appended.Uid, "INBOX"), (added.Kind, added.Uid, added.Folder));
        Assert.Equal(opened.Status.UidValidity, added.UidValidity);

        var flagged = await a.UpdateFlagsAsync(User, "INBOX", [appended.Uid], new FlagChange(FlagChangeMode.Add, StoreFlags.Flagged, ["$Important"]));
        var changed = Assert.Single((await NextAsync(onB)).Changes);
        Assert.Equal(MailboxChangeKind.FlagsChanged, changed.Kind);
        Assert.Equal(flagged.Updated[0], changed.Message! with { Keywords = flagged.Updated[0].Keywords });
        Assert.Equal(["$Important"], changed.Message!.Keywords);

        await a.ExpungeAsync(User, "INBOX", [appended.Uid]);
        var expunged = await NextAsync(onB);
        Assert.Equal((MailboxChangeKind.MessageExpunged, appended.Uid), (expunged.Changes[0].Kind, expunged.Changes[0].Uid));
        Assert.Equal((await b.GetStatusAsync(User, "INBOX")).HighestModSeq, expunged.HighestModSeq);

        await a.CreateFolderAsync(User, "Archive");
        Assert.Equal(MailboxChangeKind.FolderCreated, Assert.Single((await NextAsync(onB)).Changes).Kind);
        await a.RenameFolderAsync(User, "Archive", "Old");
        var renamed = Assert.Single((await NextAsync(onB)).Changes);
        Assert.Equal((MailboxChangeKind.FolderRenamed, "Archive", "Old"), (renamed.Kind, renamed.Folder, renamed.NewFolderName));
        await a.DeleteFolderAsync(User, "Old");
        Assert.Equal(MailboxChangeKind.FolderDeleted, Assert.Single((await NextAsync(onB)).Changes).Kind);
    }

    [Fact]
    public async Task Changes_of_both_hosts_reach_a_session_once_each_in_modseq_order()
    {
        var (a, b, _) = await TwoHostsAsync();
        using var onB = b.Subscribe(User);
        using var log = new ChangeLog(onB);
        await b.OpenFolderAsync(User, "INBOX", onB);

        // Appends from both hosts at once: B's own are published as they commit, A's as they are notified, and a change of
        // B published before A's notification of an earlier one came makes B read that one first.
        var appends = Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? a : b).AppendAsync(User, "INBOX", Message($"m{i}")).AsTask()).ToList();
        var uids = (await Task.WhenAll(appends)).Select(r => r.Uid).Order().ToList();
        using var timeout = new CancellationTokenSource(s_wait);
        while (log.Count < uids.Count)
        {
            await onB.WaitToReadAsync(timeout.Token);
        }
        await Task.Delay(200); // nothing more may come
        Assert.All(log, c => Assert.Equal(MailboxChangeKind.MessageAdded, c.Kind));
        Assert.Equal(uids, log.Select(c => c.Uid));
        Assert.Equal(log.Select(c => c.ModSeq).Order(), log.Select(c => c.ModSeq));
    }

    [Fact]
    public async Task A_message_another_host_added_and_changed_before_this_host_heard_of_it_is_told_as_added()
    {
        var (a, b, _) = await TwoHostsAsync();
        using var onA = a.Subscribe(User);
        using var log = new ChangeLog(onA);
        await a.OpenFolderAsync(User, "INBOX", onA);
        var expected = new List<uint>();
        for (var i = 0; i < 10; i++)
        {
            // B adds a message and flags it; A appends at once, before (likely) B's notifications reached it.
            var theirs = await b.AppendAsync(User, "INBOX", Message($"theirs {i}"));
            await b.UpdateFlagsAsync(User, "INBOX", [theirs.Uid], new FlagChange(FlagChangeMode.Add, StoreFlags.Flagged));
            var ours = await a.AppendAsync(User, "INBOX", Message($"ours {i}"));
            expected.AddRange([theirs.Uid, ours.Uid]);
        }
        using var timeout = new CancellationTokenSource(s_wait);
        while (log.Where(c => c.Kind == MailboxChangeKind.MessageAdded).Select(c => c.Uid).Distinct().Count() < expected.Count)
        {
            await onA.WaitToReadAsync(timeout.Token);
        }
        // Every message is added before anything else is said of it, and added once.
        var added = log.Where(c => c.Kind == MailboxChangeKind.MessageAdded).Select(c => c.Uid).ToList();
        Assert.Equal(expected.Order(), added.Order());
        foreach (var change in log.Where(c => c.Kind != MailboxChangeKind.MessageAdded))
        {
            Assert.True(log.TakeWhile(c => !ReferenceEquals(c, change)).Any(c => c.Kind == MailboxChangeKind.MessageAdded && c.Uid == change.Uid),
                $"{change.Kind} of UID {change.Uid} before it was added");
        }
    }

    [Fact]
    public async Task The_last_two_copies_of_a_message_expunged_on_two_hosts_at_once_take_its_content_with_them()
    {
        var (a, b, connectionString) = await TwoHostsAsync();
        await a.CreateFolderAsync(User, "Copies");
        for (var i = 0; i < 20; i++)
        {
            var original = await a.AppendAsync(User, "INBOX", Message($"shared {i}"));
            var copy = await a.CopyAsync(User, "INBOX", [original.Uid], "Copies");
            await Task.WhenAll(a.ExpungeAsync(User, "INBOX", [original.Uid]).AsTask(), b.ExpungeAsync(User, "Copies", [copy.TargetUids[0]]).AsTask());
        }
        await using var admin = NpgsqlDataSource.Create(connectionString);
        await using var contents = admin.CreateCommand("SELECT count(*) FROM mail_contents");
        Assert.Equal(0L, await contents.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_lost_notification_connection_is_made_again_and_what_was_missed_meanwhile_is_read()
    {
        var (a, b, connectionString) = await TwoHostsAsync();
        using var onB = b.Subscribe(User);
        await b.OpenFolderAsync(User, "INBOX", onB);
        var first = await a.AppendAsync(User, "INBOX", Message("before"));
        Assert.Equal(first.Uid, Assert.Single((await NextAsync(onB)).Changes).Uid);

        // The listening connection is cut (as a restart of the database or a network fault would); a change made before it
        // listens again is never notified to it.
        await using (var admin = NpgsqlDataSource.Create(connectionString))
        {
            await using var cut = admin.CreateCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
            Assert.Equal(true, await cut.ExecuteScalarAsync());
        }
        var missed = await a.AppendAsync(User, "INBOX", Message("while away"));

        var batch = await NextAsync(onB);
        Assert.Equal((MailboxChangeKind.MessageAdded, missed.Uid), (batch.Changes[0].Kind, batch.Changes[0].Uid));
        Assert.False(onB.TryRead(out _));
    }

    [Fact]
    public async Task Mail_delivered_over_smtp_on_one_host_is_seen_by_an_idling_imap_client_on_the_other_and_its_flags_come_back()
    {
        var (a, b, _) = await TwoHostsAsync();
        var users = new InMemoryUserDirectory();
        users.AddUser(User, "wonderland");
        var any = new IPEndPoint(IPAddress.Loopback, 0);
        await using var smtpOnA = new SmtpServer(new SmtpServerOptions { ServerName = "a.example.test" },
            new SmtpServices(a, new InMemoryMessageQueue(), users, new Policy.DefaultRecipientPolicy(new Policy.RecipientPolicyOptions { LocalDomains = { "example.test" } }, users)),
            [new SmtpEndpoint(any, SmtpRole.Mx)]);
        var imapOptions = new ImapServerOptions { ServerName = "example.test", AllowPlaintextAuth = true };
        await using var imapOnA = new ImapServer(imapOptions, new ImapServices(a, users), [new ImapEndpoint(any)]);
        await using var imapOnB = new ImapServer(imapOptions, new ImapServices(b, users), [new ImapEndpoint(any)]);
        await smtpOnA.StartAsync();
        await imapOnA.StartAsync();
        await imapOnB.StartAsync();

        using var clientOnB = new ImapClient();
        await clientOnB.ConnectAsync("127.0.0.1", imapOnB.BoundEndPoints[0].Port, SecureSocketOptions.None);
        await clientOnB.AuthenticateAsync(User, "wonderland");
        await clientOnB.Inbox.OpenAsync(FolderAccess.ReadWrite);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        clientOnB.Inbox.CountChanged += (_, _) => arrived.TrySetResult();
        using var stopIdle = new CancellationTokenSource();
        var idle = clientOnB.IdleAsync(stopIdle.Token);

        using (var sender = new SmtpClient())
        {
            await sender.ConnectAsync("127.0.0.1", smtpOnA.BoundEndPoints[0].Port, SecureSocketOptions.None);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("bob@example.org"));
            message.To.Add(MailboxAddress.Parse(User));
            message.Subject = "across hosts";
            message.Body = new TextPart("plain") { Text = "Hello from A." };
            await sender.SendAsync(message);
            await sender.DisconnectAsync(quit: true);
        }
        await arrived.Task.WaitAsync(s_wait);
        await stopIdle.CancelAsync();
        await idle;
        Assert.Equal(1, clientOnB.Inbox.Count);
        var summary = Assert.Single(await clientOnB.Inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope | MessageSummaryItems.UniqueId));
        Assert.Equal("across hosts", summary.Envelope!.Subject);

        // A client on A idles while B flags the message: A hears it.
        using var clientOnA = new ImapClient();
        await clientOnA.ConnectAsync("127.0.0.1", imapOnA.BoundEndPoints[0].Port, SecureSocketOptions.None);
        await clientOnA.AuthenticateAsync(User, "wonderland");
        await clientOnA.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var flagged = new TaskCompletionSource<MailKit.MessageFlags>(TaskCreationOptions.RunContinuationsAsynchronously);
        clientOnA.Inbox.MessageFlagsChanged += (_, e) => flagged.TrySetResult(e.Flags);
        using var stopIdleOnA = new CancellationTokenSource();
        var idleOnA = clientOnA.IdleAsync(stopIdleOnA.Token);
        await clientOnB.Inbox.AddFlagsAsync(summary.UniqueId, MailKit.MessageFlags.Flagged | MailKit.MessageFlags.Seen, silent: true);
        var seenOnA = await flagged.Task.WaitAsync(s_wait);
        await stopIdleOnA.CancelAsync();
        await idleOnA;
        Assert.Equal(MailKit.MessageFlags.Seen | MailKit.MessageFlags.Flagged, seenOnA & (MailKit.MessageFlags.Seen | MailKit.MessageFlags.Flagged));
        await clientOnA.DisconnectAsync(quit: true);
        await clientOnB.DisconnectAsync(quit: true);
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
    }
}
