using System.Globalization;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// Debian's mutt (installed by .ci/run) driven without a person: it runs under script(1) for the terminal it needs, and
/// its muttrc pushes the keys (pipe a message to a file, flag one, delete one, sync, quit) so no prompt ever waits (the
/// folder directory exists, or mutt would first ask to create it and eat the keys). A certificate mutt could not verify
/// would stop it at a prompt; the test's deadline then kills it and the test fails.
/// </summary>
public sealed class MuttTests
{
    private static readonly byte[] One = WireMessages.Raw(1, "one for mutt", "Mutt reads this.\r\n");
    private static readonly byte[] Two = WireMessages.Raw(2, "two for mutt", "Mutt flags this.\r\n");
    private static readonly byte[] Three = WireMessages.Raw(3, "three for mutt", "Mutt deletes this.\r\n");

    private static async Task<ImapInteropHost> StartAsync(CancellationToken ct)
    {
        var host = await ImapInteropHost.StartAsync();
        foreach (var raw in new[] { One, Two, Three })
        {
            await host.Host.Store.AppendAsync(ImapInteropHost.Alice, "INBOX", new MemoryStream(raw), cancellationToken: ct);
        }
        return host;
    }

    private static async Task RunMuttAsync(ExternalClient client, string url, string keys, CancellationToken ct)
    {
        var muttrc = client.PathOf("muttrc");
        await File.WriteAllTextAsync(muttrc, $"""
            set folder="{client.Directory}"
            set ssl_ca_certificates_file="{client.CertificatePath}"
            set certificate_file="{client.PathOf("mutt-certificates")}"
            set ssl_force_tls=yes
            set ssl_starttls=yes
            set imap_user="{ImapInteropHost.Alice}"
            set imap_pass="{ImapInteropHost.AlicePassword}"
            set imap_passive=yes
            set header_cache="" message_cachedir=""
            set sort=mailbox-order
            set quit=yes delete=yes move=no resolve=no wait_key=no mark_old=no pipe_decode=no sleep_time=0 mail_check_stats=no
            push "{keys}"

            """, ct);
        var result = await client.RunAsync("script", ["--quiet", "--return", "--command", $"TERM=xterm mutt -n -F {muttrc} -f {url}", "/dev/null"], ct);
        var screen = result.Stdout.Length > 2000 ? result.Stdout[^2000..] : result.Stdout;
        Assert.True(result.ExitCode == 0, $"mutt failed (exit {result.ExitCode}): {screen}\n{result.Stderr}");
    }

    [Fact]
    public async Task Mutt_over_starttls_reads_a_message_flags_one_and_deletes_one()
    {
        var ct = Deadline.After(120);
        await using var host = await StartAsync(ct);
        using var client = ExternalClient.For(host);
        var read = client.PathOf("read.eml");
        var url = $"imap://127.0.0.1:{host.Imap.Port.ToString(CultureInfo.InvariantCulture)}/INBOX";
        await RunMuttAsync(client, url,
            $"<first-entry><pipe-message>cat > {read}<enter><next-entry><flag-message><next-entry><delete-message><sync-mailbox><quit>", ct);

        // mutt pipes the message as the server sent it, with its own LF line ends.
        Assert.Equal(WireMessages.Lf(One), await File.ReadAllTextAsync(read, ct));
        var inbox = await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct);
        Assert.Equal([1u, 2u], inbox.Select(m => m.Uid));
        Assert.Equal(MessageFlags.None, inbox[0].Flags); // piping fetches BODY.PEEK[]: only displaying a message marks it read
        Assert.Equal(MessageFlags.Flagged, inbox[1].Flags);
    }

    [Fact]
    public async Task Mutt_over_implicit_tls_reads_a_message()
    {
        var ct = Deadline.After(120);
        await using var host = await StartAsync(ct);
        using var client = ExternalClient.For(host);
        var read = client.PathOf("read.eml");
        var url = $"imaps://127.0.0.1:{host.Imaps.Port.ToString(CultureInfo.InvariantCulture)}/INBOX";
        await RunMuttAsync(client, url, $"<last-entry><pipe-message>cat > {read}<enter><quit>", ct);

        Assert.Equal(WireMessages.Lf(Three), await File.ReadAllTextAsync(read, ct));
        Assert.Equal(3, (await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct)).Count);
    }
}
