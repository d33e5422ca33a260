using System.Globalization;
using System.Text;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Search;
using MailKit.Security;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// An IMAP session in IDLE hearing what POP3 does to the same maildrop (a retrieved message becoming \Seen, a deleted
/// one expunged), and MailKit walking a folder of a few thousand messages in one FETCH and one SEARCH.
/// </summary>
public sealed class MailKitCrossProtocolInteropTests
{
    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token;

    [Fact]
    public async Task Idle_hears_pop3_retrieving_and_deleting()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync(o => o.Pop3Port = 0);
        for (var i = 0; i < 3; i++)
        {
            await host.SendAsync(InteropMessages.Plain(ImapInteropHost.Alice, $"m{i}"), ct);
        }
        var log = new TranscriptLogger();
        using var client = await host.LoginAsync(log, cancellationToken: ct);
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        var uids = (await inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId, ct)).Select(s => s.UniqueId).ToList();
        var flagged = new List<(int Index, MessageFlags Flags)>();
        var expunged = new List<int>();
        var heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Both the \Seen of the first and the expunge of the second, in whichever order they come.
        void Check()
        {
            if (expunged.Count > 0 && flagged.Any(f => f.Flags.HasFlag(MessageFlags.Seen)))
            {
                heard.TrySetResult();
            }
        }
        inbox.MessageFlagsChanged += (_, e) =>
        {
            flagged.Add((e.Index, e.Flags & ~MessageFlags.Recent));
            Check();
        };
        inbox.MessageExpunged += (_, e) =>
        {
            expunged.Add(e.Index);
            Check();
        };

        using var done = new CancellationTokenSource();
        var idle = client.IdleAsync(done.Token, ct);
        using (var pop = new Pop3Client())
        {
            pop.Timeout = 60_000;
            pop.ServerCertificateValidationCallback = PinnedCertificate.Callback(host.Host.Certificate);
            pop.CheckCertificateRevocation = false;
            var endPoint = host.Host.EndPoints["pop3"];
            await pop.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.StartTls, ct);
            await pop.AuthenticateAsync(ImapInteropHost.AliceCredential, ct);
            Assert.Equal(3, pop.Count);
            // RETR of the first (which the POP3 server marks \Seen at QUIT), DELE of the second.
            using (await pop.GetStreamAsync(0, cancellationToken: ct))
            {
            }
            await pop.DeleteMessageAsync(1, ct);
            await pop.DisconnectAsync(true, ct);
        }
        await heard.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        await done.CancelAsync();
        await idle;

        Assert.Equal([1], expunged);
        Assert.Equal(2, inbox.Count);
        Assert.True(flagged.Contains((0, MessageFlags.Seen)), $"flag changes [{string.Join(", ", flagged)}]\n{log.Transcript}");
        var stored = await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct);
        Assert.Equal([uids[0].Id, uids[2].Id], stored.Select(m => m.Uid));
        Assert.Equal(Storage.MessageFlags.Seen, stored[0].Flags);
        await client.DisconnectAsync(true, ct);
    }

    [Fact]
    public async Task Three_thousand_messages_fetch_and_search_in_one_command_each()
    {
        var ct = Timeout();
        await using var host = await ImapInteropHost.StartAsync();
        const int Count = 3000;
        for (var i = 0; i < Count; i++)
        {
            var text = string.Create(CultureInfo.InvariantCulture,
                $"From: sender{i % 7}@example.org\r\nTo: {ImapInteropHost.Alice}\r\nSubject: message {i}\r\nMessage-ID: <n{i}@example.org>\r\n\r\nBody {i}{(i % 100 == 0 ? " needle" : "")}\r\n");
            using var content = new MemoryStream(Encoding.ASCII.GetBytes(text));
            await host.Host.Store.AppendAsync(ImapInteropHost.Alice, "INBOX", content,
                new Storage.AppendOptions(i % 3 == 0 ? Storage.MessageFlags.Seen : Storage.MessageFlags.None), cancellationToken: ct);
        }

        using var client = await host.LoginAsync(cancellationToken: ct);
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly, ct);
        Assert.Equal(Count, inbox.Count);
        var summaries = await inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope | MessageSummaryItems.Flags | MessageSummaryItems.UniqueId | MessageSummaryItems.Size, ct);
        Assert.Equal(Count, summaries.Count);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(i, summaries[i].Index);
            Assert.Equal($"message {i}", summaries[i].Envelope!.Subject);
            Assert.Equal($"n{i}@example.org", summaries[i].Envelope!.MessageId);
            Assert.Equal(i % 3 == 0, summaries[i].Flags!.Value.HasFlag(MessageFlags.Seen));
        }
        Assert.True(summaries.Select(s => s.UniqueId.Id).Zip(summaries.Skip(1).Select(s => s.UniqueId.Id)).All(p => p.First < p.Second));

        var needles = await inbox.SearchAsync(SearchQuery.BodyContains("needle").And(SearchQuery.FromContains("sender0@")), ct);
        // i % 100 == 0 and i % 7 == 0: multiples of 700.
        Assert.Equal(Enumerable.Range(0, Count).Where(i => i % 700 == 0).Select(i => summaries[i].UniqueId), needles);
        var unseen = await inbox.SearchAsync(SearchOptions.Count, SearchQuery.NotSeen, ct);
        Assert.Equal(Count - ((Count + 2) / 3), unseen.Count);
        await client.DisconnectAsync(true, ct);
    }
}
