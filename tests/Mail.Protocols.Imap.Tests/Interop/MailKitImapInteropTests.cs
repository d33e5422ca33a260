using MailKit;
using MailKit.Net.Imap;
using MimeKit;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>MailKit's ImapClient against the IMAP server of a <see cref="Mail.Protocols.Hosting.MailHost"/>, over loopback sockets.</summary>
public sealed class MailKitImapInteropTests
{
    private static MimeMessage Message(string subject, string body = "Hello\r\n")
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@example.org"));
        message.To.Add(MailboxAddress.Parse(ImapInteropHost.Alice));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = body };
        return message;
    }

    [Fact]
    public async Task Folders_have_their_special_uses_and_can_be_created_renamed_and_deleted()
    {
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log);
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.UidPlus), log.Transcript);
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.SpecialUse), log.Transcript);
        Assert.Equal("Sent", client.GetFolder(SpecialFolder.Sent)!.FullName);
        Assert.Equal("Trash", client.GetFolder(SpecialFolder.Trash)!.FullName);
        Assert.Equal("Archive", client.GetFolder(SpecialFolder.Archive)!.FullName);

        var root = await client.GetFolderAsync(client.PersonalNamespaces[0].Path);
        var projects = (await root.CreateAsync("Projects", isMessageFolder: true))!;
        var subfolder = (await projects.CreateAsync("2026", isMessageFolder: true))!;
        await subfolder.RenameAsync(projects, "2027");
        var names = (await root.GetSubfoldersAsync(false)).Select(f => f.Name).ToList();
        Assert.Contains("Projects", names);
        Assert.Equal(["2027"], (await projects.GetSubfoldersAsync(false)).Select(f => f.Name));
        await subfolder.DeleteAsync();
        Assert.Empty(await projects.GetSubfoldersAsync(false));
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Append_with_uidplus_then_store_copy_and_move()
    {
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, implicitTls: true);
        var inbox = client.Inbox;
        var first = await inbox.AppendAsync(new AppendRequest(Message("one")) { Flags = MessageFlags.Seen });
        var second = await inbox.AppendAsync(new AppendRequest(Message("two")));
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.True(second.Value.Id > first.Value.Id, log.Transcript);

        await inbox.OpenAsync(FolderAccess.ReadWrite);
        Assert.Equal(2, inbox.Count);
        Assert.Equal(first.Value.Validity, inbox.UidValidity);
        await inbox.AddFlagsAsync(second.Value, MessageFlags.Flagged, silent: false);

        var archive = client.GetFolder(SpecialFolder.Archive)!;
        var copied = await inbox.CopyToAsync([first.Value], archive);
        Assert.Single(copied.Destination);
        var moved = await inbox.MoveToAsync([second.Value], client.GetFolder(SpecialFolder.Trash)!);
        Assert.Single(moved.Destination);
        Assert.Equal(1, inbox.Count);

        var status = await host.Host.Store.GetStatusAsync(ImapInteropHost.Alice, "Trash");
        Assert.Equal(1, status.Messages);
        var trashed = (await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "Trash")).Single();
        Assert.Equal(Storage.MessageFlags.Flagged, trashed.Flags);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Idle_hears_a_message_delivered_over_smtp()
    {
        await using var host = await ImapInteropHost.StartAsync();
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log);
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly);
        var arrived = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        inbox.CountChanged += (_, _) => arrived.TrySetResult(inbox.Count);
        using var done = new CancellationTokenSource();
        var idle = client.IdleAsync(done.Token);
        await host.SendAsync(Message("pushed"));
        var count = await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await done.CancelAsync();
        await idle;
        Assert.Equal(1, count);
        Assert.Contains("DONE", log.Transcript, StringComparison.Ordinal);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Another_session_sees_flag_changes_and_expunges()
    {
        await using var host = await ImapInteropHost.StartAsync();
        using var writer = await host.LoginAsync();
        using var reader = await host.LoginAsync();
        await writer.Inbox.AppendAsync(new AppendRequest(Message("a")));
        await writer.Inbox.AppendAsync(new AppendRequest(Message("b")));
        await writer.Inbox.OpenAsync(FolderAccess.ReadWrite);
        await reader.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var flagged = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var expunged = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        reader.Inbox.MessageFlagsChanged += (_, e) => flagged.TrySetResult(e.Index);
        reader.Inbox.MessageExpunged += (_, e) => expunged.TrySetResult(e.Index);

        await writer.Inbox.AddFlagsAsync(1, MessageFlags.Deleted, silent: true);
        await writer.Inbox.ExpungeAsync();
        await reader.NoOpAsync();
        Assert.Equal(1, await flagged.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, await expunged.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, reader.Inbox.Count);
    }
}
