using System.Globalization;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// curl's IMAP URL forms (RFC 5092 plus curl's own query and custom-request forms) against the host over loopback, with
/// TLS required and the host's self-signed certificate as the only trusted one (--cacert, its subjectAltName has 127.0.0.1).
/// </summary>
public sealed class CurlImapTests
{
    private static readonly byte[] First = WireMessages.Raw(1, "first message", "The first body.\r\n");
    private static readonly byte[] Second = WireMessages.Raw(2, "second message", "The second body.\r\n");

    private static async Task<ImapInteropHost> StartAsync(CancellationToken ct)
    {
        var host = await ImapInteropHost.StartAsync();
        // The host creates Sent, Drafts, Trash, Junk and Archive at a user's first login.
        using (var client = await host.LoginAsync(cancellationToken: ct))
        {
            await client.DisconnectAsync(true, ct);
        }
        foreach (var raw in new[] { First, Second })
        {
            await host.Host.Store.AppendAsync(ImapInteropHost.Alice, "INBOX", new MemoryStream(raw), cancellationToken: ct);
        }
        return host;
    }

    private static async Task<ExternalClientResult> CurlAsync(ExternalClient client, string password, CancellationToken ct, params string[] arguments)
    {
        string[] common = ["--silent", "--show-error", "--ssl-reqd", "--cacert", client.CertificatePath, "--user", $"{ImapInteropHost.Alice}:{password}", "--max-time", "60"];
        return await client.RunAsync("curl", [.. common, .. arguments], ct);
    }

    private static async Task<string> CurlOkAsync(ExternalClient client, CancellationToken ct, params string[] arguments)
    {
        var result = await CurlAsync(client, ImapInteropHost.AlicePassword, ct, arguments);
        Assert.True(result.ExitCode == 0, $"curl {string.Join(' ', arguments)}: {result}");
        return result.Stdout;
    }

    [Fact]
    public async Task Curl_over_starttls_lists_folders_fetches_by_uid_section_and_partial_and_searches()
    {
        var ct = Deadline.After(120);
        await using var host = await StartAsync(ct);
        using var client = ExternalClient.For(host);
        var root = $"imap://127.0.0.1:{host.Imap.Port.ToString(CultureInfo.InvariantCulture)}";

        // The server's root: curl sends LIST "" * and prints the untagged responses as they came.
        Assert.Equal(
            "* LIST (\\HasNoChildren) \"/\" INBOX\r\n" +
            "* LIST (\\HasNoChildren \\Archive) \"/\" Archive\r\n" +
            "* LIST (\\HasNoChildren \\Drafts) \"/\" Drafts\r\n" +
            "* LIST (\\HasNoChildren \\Junk) \"/\" Junk\r\n" +
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n" +
            "* LIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n",
            await CurlOkAsync(client, ct, root + "/"));

        // A message by UID (UID FETCH n BODY[]), a section, and a partial fetch: written exactly as stored.
        var output = client.PathOf("uid2.eml");
        await CurlOkAsync(client, ct, "--output", output, root + "/INBOX;UID=2");
        Assert.Equal(Second, await File.ReadAllBytesAsync(output, ct));
        await CurlOkAsync(client, ct, "--output", output, root + "/INBOX;UID=1;SECTION=HEADER");
        Assert.Equal(WireMessages.Header(First), await File.ReadAllBytesAsync(output, ct));
        await CurlOkAsync(client, ct, "--output", output, root + "/INBOX;UID=1;SECTION=TEXT;PARTIAL=4.5");
        Assert.Equal("first"u8.ToArray(), await File.ReadAllBytesAsync(output, ct));

        // SEARCH in the URL's query, and as a custom request; STATUS as a custom request on the root.
        Assert.Equal("* SEARCH 2\r\n", await CurlOkAsync(client, ct, root + "/INBOX?SUBJECT%20%22second%20message%22"));
        Assert.Equal("* SEARCH 1\r\n", await CurlOkAsync(client, ct, "--request", "UID SEARCH FROM sender1", root + "/INBOX"));
        Assert.Equal("* SEARCH 1 2\r\n", await CurlOkAsync(client, ct, "--request", "SEARCH SEEN", root + "/INBOX"));
        Assert.Equal("* STATUS INBOX (MESSAGES 2)\r\n", await CurlOkAsync(client, ct, "--request", "STATUS INBOX (MESSAGES)", root + "/"));

        // A UIDVALIDITY in the URL that is not the folder's, and a wrong password: curl's own failures, nothing printed.
        var wrongValidity = await CurlAsync(client, ImapInteropHost.AlicePassword, ct, root + "/INBOX;UIDVALIDITY=1;UID=1");
        Assert.True(wrongValidity.ExitCode == 78 && wrongValidity.Stdout.Length == 0, wrongValidity.ToString()); // CURLE_REMOTE_FILE_NOT_FOUND
        var denied = await CurlAsync(client, "wrong", ct, root + "/");
        Assert.True(denied.ExitCode == 67 && denied.Stdout.Length == 0, denied.ToString()); // CURLE_LOGIN_DENIED

        // curl fetches BODY[...] without PEEK, so both messages are now \Seen.
        Assert.All(await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "INBOX", ct), m => Assert.Equal(MessageFlags.Seen, m.Flags));
    }

    [Fact]
    public async Task Curl_over_implicit_tls_fetches_appends_with_upload_and_creates_a_folder()
    {
        var ct = Deadline.After(120);
        await using var host = await StartAsync(ct);
        using var client = ExternalClient.For(host);
        var root = $"imaps://127.0.0.1:{host.Imaps.Port.ToString(CultureInfo.InvariantCulture)}";

        var output = client.PathOf("uid1.eml");
        await CurlOkAsync(client, ct, "--output", output, root + "/INBOX;UID=1");
        Assert.Equal(First, await File.ReadAllBytesAsync(output, ct));

        // --upload-file APPENDs the file to the folder of the URL (as a literal after the server's continuation).
        var upload = WireMessages.Raw(3, "uploaded by curl", "Uploaded.\r\n");
        var input = client.PathOf("upload.eml");
        await File.WriteAllBytesAsync(input, upload, ct);
        Assert.Equal("", await CurlOkAsync(client, ct, "--upload-file", input, root + "/Archive"));
        var archived = Assert.Single(await host.Host.Store.ListMessagesAsync(ImapInteropHost.Alice, "Archive", ct));
        await using (var content = await host.Host.Store.OpenContentAsync(ImapInteropHost.Alice, "Archive", archived.Uid, ct))
        {
            using var copy = new MemoryStream();
            await content.CopyToAsync(copy, ct);
            Assert.Equal(upload, copy.ToArray());
        }

        Assert.Equal("", await CurlOkAsync(client, ct, "--request", "CREATE Projects", root + "/"));
        Assert.Contains(await host.Host.Store.ListFoldersAsync(ImapInteropHost.Alice, ct), f => f.Name == "Projects");
        Assert.Equal("* LIST (\\HasNoChildren) \"/\" Projects\r\n", await CurlOkAsync(client, ct, "--request", "LIST \"\" Projects", root + "/"));
    }
}
