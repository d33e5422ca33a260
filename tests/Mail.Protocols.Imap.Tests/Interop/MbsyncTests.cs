using System.Globalization;
using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// Debian's mbsync (package isync, installed by .ci/run) synchronising INBOX and Archive between the host and a local
/// Maildir, in both directions, over STARTTLS and then implicit TLS, with the host's certificate as its only trusted one.
/// </summary>
public sealed class MbsyncTests
{
    private static readonly byte[] One = WireMessages.Raw(1, "one", "Body one.\r\n");
    private static readonly byte[] Two = WireMessages.Raw(2, "two", "Body two.\r\n");
    private static readonly byte[] Three = WireMessages.Raw(3, "three", "Body three.\r\n");
    private static readonly byte[] Four = WireMessages.Raw(4, "four", "Body four, archived.\r\n");
    private static readonly byte[] Five = WireMessages.Raw(5, "five", "Body five, archived later.\r\n");
    private static readonly byte[] Six = WireMessages.Raw(6, "six", "Body six, arrived later.\r\n");
    private static readonly byte[] Local = WireMessages.Raw(7, "written locally", "Body seven, from the Maildir.\r\n");

    private static string Config(ExternalClient client, int port, string tlsType, string maildir) =>
        $"""
        IMAPAccount host
        Host 127.0.0.1
        Port {port.ToString(CultureInfo.InvariantCulture)}
        User {ImapInteropHost.Alice}
        Pass {ImapInteropHost.AlicePassword}
        SSLType {tlsType}
        CertificateFile {client.CertificatePath}
        Timeout 60

        IMAPStore far
        Account host

        MaildirStore near
        Path {maildir}/
        Inbox {maildir}/INBOX
        SubFolders Verbatim

        Channel mail
        Far :far:
        Near :near:
        Patterns INBOX Archive
        Create Near
        Expunge Both
        SyncState *

        """;

    private static async Task SyncAsync(ExternalClient client, int port, string tlsType, string maildir, CancellationToken ct)
    {
        var config = client.PathOf("mbsyncrc");
        await File.WriteAllTextAsync(config, Config(client, port, tlsType, maildir), ct);
        var result = await client.RunAsync("mbsync", ["--config", config, "--all"], ct);
        Assert.True(result.ExitCode == 0, $"mbsync ({tlsType}) failed: {result}");
    }

    /// <summary>
    /// A Maildir folder as (content, Maildir flags) sorted by content. mbsync stores messages with LF line ends and adds an
    /// X-TUID header (its own tracking), which is taken out again here; everything else must be the server's octets.
    /// </summary>
    private static List<(string Content, string Flags)> ReadMaildir(string folder)
    {
        var messages = new List<(string Content, string Flags)>();
        foreach (var sub in new[] { "new", "cur" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(folder, sub)))
            {
                var name = Path.GetFileName(file);
                var info = name.IndexOf(":2,", StringComparison.Ordinal);
                var lines = File.ReadAllText(file, Encoding.UTF8).Split('\n').Where(l => !l.StartsWith("X-TUID: ", StringComparison.Ordinal));
                messages.Add((string.Join('\n', lines), info < 0 ? "" : name[(info + 3)..]));
            }
        }
        return [.. messages.OrderBy(m => m.Content, StringComparer.Ordinal)];
    }

    private static List<(string Content, string Flags)> Expected(params (byte[] Raw, string Flags)[] messages) =>
        [.. messages.Select(m => (WireMessages.Lf(m.Raw), m.Flags)).OrderBy(m => m.Item1, StringComparer.Ordinal)];

    private static async Task<uint> AppendAsync(ImapInteropHost host, string folder, byte[] raw, MessageFlags flags, CancellationToken ct) =>
        (await host.Host.Store.AppendAsync(ImapInteropHost.Alice, folder, new MemoryStream(raw), new AppendOptions(flags), cancellationToken: ct)).Uid;

    [Fact]
    public async Task Mbsync_pulls_inbox_and_a_folder_into_a_maildir_then_follows_flag_changes_and_expunges_and_pushes_local_changes()
    {
        var ct = Deadline.After(180);
        await using var host = await ImapInteropHost.StartAsync();
        using (var first = await host.LoginAsync(cancellationToken: ct))
        {
            await first.DisconnectAsync(true, ct); // the host creates Archive and the other special-use folders here
        }
        var uidOne = await AppendAsync(host, "INBOX", One, MessageFlags.Seen, ct);
        var uidTwo = await AppendAsync(host, "INBOX", Two, MessageFlags.None, ct);
        var uidThree = await AppendAsync(host, "INBOX", Three, MessageFlags.Flagged, ct);
        await AppendAsync(host, "Archive", Four, MessageFlags.Answered, ct);

        using var client = ExternalClient.For(host);
        var maildir = client.PathOf("Mail");
        Directory.CreateDirectory(maildir);
        await SyncAsync(client, host.Imap.Port, "STARTTLS", maildir, ct);

        Assert.Equal(["Archive", "INBOX"], Directory.GetDirectories(maildir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Expected((One, "S"), (Two, ""), (Three, "F")), ReadMaildir(Path.Combine(maildir, "INBOX")));
        Assert.Equal(Expected((Four, "R")), ReadMaildir(Path.Combine(maildir, "Archive")));

        // On the server: flags change, a message is expunged, messages arrive in both folders.
        var store = host.Host.Store;
        await store.UpdateFlagsAsync(ImapInteropHost.Alice, "INBOX", [uidTwo], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen), cancellationToken: ct);
        await store.UpdateFlagsAsync(ImapInteropHost.Alice, "INBOX", [uidThree], new FlagChange(FlagChangeMode.Replace, MessageFlags.Answered), cancellationToken: ct);
        Assert.Equal([uidOne], await store.ExpungeAsync(ImapInteropHost.Alice, "INBOX", [uidOne], cancellationToken: ct));
        await AppendAsync(host, "INBOX", Six, MessageFlags.None, ct);
        await AppendAsync(host, "Archive", Five, MessageFlags.Flagged, ct);
        // In the Maildir: a new message written there (seen), and the archived one marked trashed (Maildir's T).
        await File.WriteAllTextAsync(Path.Combine(maildir, "INBOX", "cur", "1700000000.local.test:2,S"), WireMessages.Lf(Local), ct);
        var archived = Directory.EnumerateFiles(Path.Combine(maildir, "Archive"), "*", SearchOption.AllDirectories).Single(f => f.EndsWith(":2,R", StringComparison.Ordinal));
        File.Move(archived, archived + "T");

        // The second run goes over implicit TLS: the same server, so the sync state carries on.
        await SyncAsync(client, host.Imaps.Port, "IMAPS", maildir, ct);

        Assert.Equal(Expected((Two, "S"), (Three, "R"), (Six, ""), (Local, "S")), ReadMaildir(Path.Combine(maildir, "INBOX")));
        Assert.Equal(Expected((Five, "F")), ReadMaildir(Path.Combine(maildir, "Archive")));

        // The server followed the Maildir: the local message was appended (with CRLF, \Seen), the trashed one expunged.
        var inbox = await store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct);
        Assert.Equal(4, inbox.Count);
        var pushed = inbox[^1];
        Assert.Equal(MessageFlags.Seen, pushed.Flags);
        await using (var content = await store.OpenContentAsync(ImapInteropHost.Alice, "INBOX", pushed.Uid, ct))
        {
            using var reader = new StreamReader(content, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(ct);
            var lines = text.Split("\r\n").Where(l => !l.StartsWith("X-TUID: ", StringComparison.Ordinal));
            Assert.Equal(Encoding.ASCII.GetString(Local), string.Join("\r\n", lines));
        }
        var archive = await store.ListMessagesAsync(ImapInteropHost.Alice, "Archive", ct);
        Assert.Equal([MessageFlags.Flagged], archive.Select(m => m.Flags));
    }
}
