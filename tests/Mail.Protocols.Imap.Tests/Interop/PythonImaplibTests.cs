using System.Globalization;
using System.Security.Cryptography;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>Python's imaplib against the host over loopback sockets (python3 is installed by .ci/run); Scripts/imaplib_client.py.</summary>
public sealed class PythonImaplibTests
{
    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static async Task<string> RunAsync(ImapInteropHost host, string mode, CancellationToken ct)
    {
        using var client = ExternalClient.For(host);
        var port = (mode == "ssl" ? host.Imaps : host.Imap).Port.ToString(CultureInfo.InvariantCulture);
        var script = Path.Combine(AppContext.BaseDirectory, "Scripts", "imaplib_client.py");
        var result = await client.RunAsync("python3", [script, mode, port, client.CertificatePath], ct);
        Assert.True(result.ExitCode == 0, $"imaplib_client.py {mode} failed: {result}");
        return result.Stdout;
    }

    private static async Task FirstLoginAsync(ImapInteropHost host)
    {
        // The host creates Sent, Drafts, Trash, Junk and Archive at a user's first login.
        using var client = await host.LoginAsync();
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Python_imaplib_over_starttls_lists_selects_appends_fetches_searches_stores_copies_and_expunges()
    {
        var ct = Deadline.After(120);
        await using var host = await ImapInteropHost.StartAsync();
        await FirstLoginAsync(host);
        var first = WireMessages.Raw(1, "first message", "The first body.\r\n");
        var second = WireMessages.Raw(2, "second message", "The second body.\r\n");
        foreach (var raw in new[] { first, second })
        {
            await host.Host.Store.AppendAsync(ImapInteropHost.Alice, "INBOX", new MemoryStream(raw), cancellationToken: ct);
        }

        var output = await RunAsync(host, "starttls", ct);
        foreach (var line in new[] { "OK login refused in plaintext", "OK starttls login", "OK list", "OK select", "OK append", "OK search", "OK store", "OK copy", "OK expunge", "OK status", "OK logout" })
        {
            Assert.Contains(line + "\n", output, StringComparison.Ordinal);
        }
        // What imaplib received is exactly what the store holds.
        Assert.Contains($"RFC822 1 {Sha(first)}\n", output, StringComparison.Ordinal);
        Assert.Contains($"HEADER 2 {Sha(WireMessages.Header(second))}\n", output, StringComparison.Ordinal);

        // The store followed every command: message 2 expunged, the appended one kept with \Flagged only, a copy of 1 in Archive.
        var inbox = await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct);
        Assert.Equal([1u, 3u], inbox.Select(m => m.Uid));
        Assert.Equal(MessageFlags.Seen, inbox[0].Flags);
        Assert.Equal(MessageFlags.Flagged, inbox[1].Flags);
        Assert.Empty(inbox[1].Keywords);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 9, 0, 0, TimeSpan.Zero), inbox[1].InternalDate.ToUniversalTime());
        await using (var content = await host.Host.Store.OpenContentAsync(ImapInteropHost.Alice, "INBOX", 3, ct))
        {
            using var copy = new MemoryStream();
            await content.CopyToAsync(copy, ct);
            Assert.Contains($"APPENDED {Sha(copy.ToArray())}\n", output, StringComparison.Ordinal);
        }
        var archive = await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "Archive", ct);
        Assert.Equal(MessageFlags.Seen, Assert.Single(archive).Flags);
        Assert.Equal(first.Length, archive[0].Size);
    }

    [Fact]
    public async Task Python_imaplib_IMAP4_SSL_on_the_implicit_tls_port_creates_a_utf8_folder_and_examines_without_setting_seen()
    {
        var ct = Deadline.After(120);
        await using var host = await ImapInteropHost.StartAsync();
        await FirstLoginAsync(host);
        var raw = WireMessages.Raw(1, "examined", "Read over implicit TLS.\r\n");
        await host.Host.Store.AppendAsync(ImapInteropHost.Alice, "INBOX", new MemoryStream(raw), cancellationToken: ct);

        var output = await RunAsync(host, "ssl", ct);
        foreach (var line in new[] { "OK ssl login", "OK utf8 folder", "OK ssl logout" })
        {
            Assert.Contains(line + "\n", output, StringComparison.Ordinal);
        }
        Assert.Contains($"TEXT 1 {Sha("Read over implicit TLS.\r\n"u8.ToArray())}\n", output, StringComparison.Ordinal);
        Assert.Contains(await host.Host.Store.ListFoldersAsync(ImapInteropHost.Alice, ct), f => f.Name == "Entwürfe");
        Assert.Equal(MessageFlags.None, Assert.Single(await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct)).Flags);
    }
}
