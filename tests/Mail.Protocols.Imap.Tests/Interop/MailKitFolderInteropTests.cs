using MailKit;
using MailKit.Net.Imap;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// MailKit's folder operations against our server: STATUS and LIST-STATUS against the store, subscriptions, UID
/// EXPUNGE of some of the \Deleted messages, renaming INBOX, deleting a folder with children, EXISTS for messages
/// appended to the selected folder by this and another session, ID and NAMESPACE.
/// </summary>
public sealed class MailKitFolderInteropTests
{
    private static List<UniqueId> UidsOf(IList<IMessageSummary> summaries) => [.. summaries.Select(s => s.UniqueId)];

    private const StatusItems AllStatus = StatusItems.Count | StatusItems.Recent | StatusItems.UidNext | StatusItems.UidValidity | StatusItems.Unread
        | StatusItems.HighestModSeq | StatusItems.Size;

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token;

    [Fact]
    public async Task Status_and_list_status_agree_with_the_store()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var archive = client.GetFolder(SpecialFolder.Archive)!;
        await archive.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, "read"), MessageFlags.Seen), ct);
        await archive.AppendAsync(new AppendRequest(InteropMessages.Rich(ImapInteropHost.Alice), MessageFlags.None), ct);
        await InteropMessages.SendAsync(host.Smtp, InteropMessages.Plain(ImapInteropHost.Alice, "new"), ImapInteropHost.Alice, ct);

        foreach (var folder in new[] { client.Inbox, archive })
        {
            await folder.StatusAsync(AllStatus, ct);
            var status = await host.Host.Store.GetStatusAsync(ImapInteropHost.Alice, folder.FullName, ct);
            Assert.Equal(status.Messages, folder.Count);
            Assert.Equal(status.Unseen, folder.Unread);
            Assert.Equal(status.UidNext, folder.UidNext!.Value.Id);
            Assert.Equal(status.UidValidity, folder.UidValidity);
            Assert.Equal((ulong)status.Size, folder.Size);
            Assert.Equal(status.HighestModSeq, folder.HighestModSeq);
        }
        Assert.Equal(2, archive.Count);
        Assert.Equal(1, archive.Unread);

        // LIST-STATUS: the same numbers with the folder list, in one command.
        var listed = await client.GetFoldersAsync(client.PersonalNamespaces[0], StatusItems.Count | StatusItems.Unread | StatusItems.UidNext, false, ct);
        Assert.Contains("RETURN (", log.Transcript, StringComparison.Ordinal);
        var listedArchive = listed.Single(f => f.FullName == "Archive");
        Assert.Equal(2, listedArchive.Count);
        Assert.Equal(1, listedArchive.Unread);
        Assert.Equal(1, listed.Single(f => f.FullName == "INBOX").Count);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Subscriptions_uid_expunge_rename_inbox_and_delete_with_children()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync(o => o.AllowPlaintextAuth = true);
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var personal = client.GetFolder(client.PersonalNamespaces[0]);
        var parent = (await personal.CreateAsync("Parent", true, ct))!;
        var child = (await parent.CreateAsync("Child", true, ct))!;

        // Subscriptions.
        await child.SubscribeAsync(ct);
        Assert.Contains("Parent/Child", await host.Host.Store.ListSubscriptionsAsync(ImapInteropHost.Alice, ct));
        Assert.Equal(["Child"], (await parent.GetSubfoldersAsync(subscribedOnly: true, ct)).Select(f => f.Name));
        await child.UnsubscribeAsync(ct);
        Assert.Empty(await parent.GetSubfoldersAsync(subscribedOnly: true, ct));

        // UID EXPUNGE removes only the named \Deleted messages (RFC 4315 §2.1).
        var inbox = client.Inbox;
        var uids = new List<UniqueId>();
        for (var i = 0; i < 4; i++)
        {
            uids.Add((await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, $"m{i}"), i == 3 ? MessageFlags.None : MessageFlags.Deleted), ct))!.Value);
        }
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        await inbox.ExpungeAsync([uids[0], uids[2], uids[3]], ct);
        Assert.Equal([uids[1].Id, uids[3].Id], (await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct)).Select(m => m.Uid));
        Assert.Equal(2, inbox.Count);
        await inbox.CloseAsync(false, ct);

        // RENAME INBOX moves its messages to the new folder and leaves an empty INBOX (RFC 9051 §6.3.6). MailKit will
        // not send it, so a raw client does.
        await using (var raw = await Differential.RawImapClient.ConnectAsync(host.Imap, ct))
        {
            Assert.Equal("OK", (await raw.CommandAsync($"LOGIN {ImapInteropHost.Alice} {ImapInteropHost.AlicePassword}", ct)).Status);
            var renamed = await raw.CommandAsync("RENAME INBOX \"Old Inbox\"", ct);
            Assert.True(renamed.Status == "OK", renamed.TaggedText);
        }
        Assert.Equal(2, (await host.Host.Store.GetStatusAsync(ImapInteropHost.Alice, "Old Inbox", ct)).Messages);
        Assert.Equal(0, (await host.Host.Store.GetStatusAsync(ImapInteropHost.Alice, "INBOX", ct)).Messages);
        var inboxAgain = await client.GetFolderAsync("INBOX", ct);
        await inboxAgain.StatusAsync(StatusItems.Count, ct);
        Assert.Equal(0, inboxAgain.Count);
        var old = await client.GetFolderAsync("Old Inbox", ct);
        await old.OpenAsync(FolderAccess.ReadOnly, ct);
        Assert.Equal(["m1", "m3"], (await old.FetchAsync(0, -1, MessageSummaryItems.Envelope, ct)).Select(s => s.Envelope!.Subject));
        await old.CloseAsync(false, ct);

        // DELETE of a folder with children: either refused (NO) or the folder stays as \Noselect with its child;
        // never the child lost (RFC 9051 §6.3.5).
        try
        {
            await parent.DeleteAsync(ct);
        }
        catch (ImapCommandException)
        {
        }
        var names = (await client.GetFoldersAsync(client.PersonalNamespaces[0], cancellationToken: ct)).Select(f => f.FullName).ToList();
        Assert.Contains("Parent/Child", names);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Appends_to_the_selected_folder_are_announced_to_every_session_selecting_it()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var otherLog = new TranscriptLogger();
        using var other = await host.LoginAsync(otherLog, cancellationToken: ct);
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite, ct);
        await other.Inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        var counts = new List<int>();
        inbox.CountChanged += (_, _) => counts.Add(inbox.Count);

        // APPEND to the folder this session has selected: EXISTS before the tagged OK (RFC 9051 §6.3.12).
        var own = (await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, "own"), MessageFlags.None), ct))!.Value;
        Assert.Equal(1, inbox.Count);
        // Another session's APPEND and an SMTP delivery: EXISTS at the next command.
        await other.Inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, "other"), MessageFlags.None), ct);
        await host.SendAsync(InteropMessages.Plain(ImapInteropHost.Alice, "delivered"), ct);
        await client.NoOpAsync(ct);
        Assert.True(inbox.Count == 3, log.Transcript);
        Assert.Equal(3, counts[^1]);
        await other.NoOpAsync(ct);
        Assert.True(other.Inbox.Count == 3, otherLog.Transcript);

        // The same with COPY into the folder selected: a message another session appended meanwhile is not lost.
        await inbox.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, "fourth"), MessageFlags.None), ct);
        var copied = await other.Inbox.CopyToAsync(UidsOf(await other.Inbox.FetchAsync(0, 0, MessageSummaryItems.UniqueId, ct)), other.Inbox, ct);
        Assert.Single(copied.Destination);
        Assert.True(other.Inbox.Count == 5, otherLog.Transcript);
        await client.NoOpAsync(ct);
        Assert.Equal(5, inbox.Count);

        var summaries = await inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope | MessageSummaryItems.UniqueId, ct);
        Assert.Equal(["own", "other", "delivered", "fourth", "own"], summaries.Select(s => s.Envelope!.Subject));
        Assert.Equal(own, summaries[0].UniqueId);
        Assert.True(summaries[0].UniqueId.Id < summaries[1].UniqueId.Id && summaries[1].UniqueId.Id < summaries[2].UniqueId.Id);

        // ID and NAMESPACE.
        var server = await client.IdentifyAsync(new ImapImplementation { Name = "interop-test", Version = "1" }, ct);
        Assert.NotNull(server);
        Assert.Equal("", client.PersonalNamespaces[0].Path);
        Assert.Equal('/', client.PersonalNamespaces[0].DirectorySeparator);
        await client.DisconnectAsync(true, ct);
        await other.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task A_selected_folder_renamed_keeps_hearing_new_messages_under_its_new_name()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        using var other = await host.LoginAsync(cancellationToken: ct);
        var personal = client.GetFolder(client.PersonalNamespaces[0]);
        var projects = (await personal.CreateAsync("Projects", true, ct))!;
        await projects.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, "before"), MessageFlags.None), ct);
        await projects.OpenAsync(FolderAccess.ReadWrite, ct);
        var validity = projects.UidValidity;

        // RENAME of the folder this session has selected (RFC 9051 §6.3.6 allows it). MailKit then takes the folder as
        // closed, but the server keeps it selected under its new name: another session's APPEND there is announced.
        await projects.RenameAsync(personal, "Projects 2026", ct);
        Assert.Equal("Projects 2026", projects.FullName);
        var renamed = await other.GetFolderAsync("Projects 2026", ct);
        await renamed.AppendAsync(new AppendRequest(InteropMessages.Plain(ImapInteropHost.Alice, "after"), MessageFlags.None), ct);
        await client.NoOpAsync(ct);
        Assert.Matches(@"C: (\w+) NOOP\r?\nS: \* 2 EXISTS\r?\nS: \1 OK ", log.Transcript);
        await projects.OpenAsync(FolderAccess.ReadOnly, ct);
        Assert.Equal(2, projects.Count);
        Assert.Equal(validity, projects.UidValidity);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task A_five_megabyte_append_is_stored_byte_for_byte()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        using var client = await host.LoginAsync(implicitTls: true, cancellationToken: ct);
        var message = InteropMessages.Plain(ImapInteropHost.Alice, "five megabytes");
        var payload = new byte[5 * 1024 * 1024 / 4 * 3];
        new Random(99).NextBytes(payload);
        message.Body = new MimeKit.Multipart("mixed")
        {
            new MimeKit.TextPart("plain") { Text = "Attached.\r\n" },
            new MimeKit.MimePart("application", "octet-stream") { Content = new MimeKit.MimeContent(new MemoryStream(payload)), ContentTransferEncoding = MimeKit.ContentEncoding.Base64 },
        };
        var octets = InteropMessages.Bytes(message);
        var uid = (await client.Inbox.AppendAsync(new AppendRequest(message, MessageFlags.Seen), ct))!.Value;
        ByteAssert.AssertSameBytes(octets, await InteropMessages.StoredAsync(host.Host.Store, ImapInteropHost.Alice, "INBOX", uid.Id, ct), "5 MB APPEND ");
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        ByteAssert.AssertSameBytes(octets, await InteropMessages.ReadAllAsync(await client.Inbox.GetStreamAsync(uid, ct), ct), "5 MB FETCH ");
        await client.DisconnectAsync(true, ct);
    }
}
