using System.Diagnostics;
using Mail.Protocols.Hosting;
using Mail.Protocols.InMemory;

namespace Mail.Protocols.Smtp.Tests.Scripts;

/// <summary>Debian's swaks (installed by .ci/run) against the host: the README's first-run command.</summary>
public class SwaksTests
{
    private static async Task<(int Exit, string Output)> SwaksAsync(params string[] args)
    {
        var start = new ProcessStartInfo("swaks") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task Swaks_delivers_to_alice_on_mx_and_with_starttls_cram_md5_on_submission()
    {
        var options = new MailHostOptions { SmtpPort = 0, SubmissionPort = 0, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        await using var host = new MailHost(options);
        await host.StartAsync();

        var mx = await SwaksAsync("--server", $"127.0.0.1:{host.EndPoints["smtp"].Port}", "--to", "alice@example.test", "--from", "bob@example.org",
            "--header", "Subject: swaks over mx", "--body", "body over mx");
        Assert.True(mx.Exit == 0, mx.Output);
        Assert.Matches(@"<-  250 2\.0\.0 \S+ Message accepted for delivery", mx.Output);

        var submission = await SwaksAsync("--server", $"127.0.0.1:{host.EndPoints["submission"].Port}", "--tls",
            "--auth", "CRAM-MD5", "--auth-user", "alice@example.test", "--auth-password", "alice",
            "--to", "alice@example.test", "--from", "alice@example.test", "--header", "Subject: swaks over submission", "--body", "body over submission");
        Assert.True(submission.Exit == 0, submission.Output);
        Assert.Contains("235 2.7.0 Authentication successful", submission.Output);

        var stored = await host.Store.ListMessagesAsync("alice@example.test", "INBOX");
        Assert.Equal(2, stored.Count);
        await AssertStoredAsync(host, stored[0].Uid, " with ESMTP id ", "bob@example.org", "swaks over mx", "body over mx");
        await AssertStoredAsync(host, stored[1].Uid, " with ESMTPSA id ", "alice@example.test", "swaks over submission", "body over submission");
    }

    [Fact]
    public async Task Swaks_reaches_the_members_of_an_alias_from_a_virtual_table_and_sees_a_loop_refused_with_5_4_6()
    {
        var table = Path.Combine(Path.GetTempPath(), $"virtual-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(table, "# aliases\nteam@example.test alice@example.test,\n  bob@example.test\nping@example.test pong@example.test\npong@example.test ping@example.test\n");
        try
        {
            var options = new MailHostOptions { SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null };
            options.Domains.Add("example.test");
            options.Users.Add(("alice@example.test", "alice"));
            options.Users.Add(("bob@example.test", "bob"));
            options.AddressBook = VirtualAliasFile.Load(table);
            await using var host = new MailHost(options);
            await host.StartAsync();
            var server = $"127.0.0.1:{host.EndPoints["smtp"].Port}";

            var team = await SwaksAsync("--server", server, "--to", "team@example.test", "--from", "carol@example.org", "--header", "Subject: to the team");
            Assert.True(team.Exit == 0, team.Output);
            var loop = await SwaksAsync("--server", server, "--to", "ping@example.test", "--from", "carol@example.org");
            Assert.NotEqual(0, loop.Exit);
            Assert.Contains("<** 550 5.4.6 Recipient address rejected: alias loop detected", loop.Output, StringComparison.Ordinal);

            Assert.Single(await host.Store.ListMessagesAsync("alice@example.test", "INBOX"));
            Assert.Single(await host.Store.ListMessagesAsync("bob@example.test", "INBOX"));
        }
        finally
        {
            File.Delete(table);
        }
    }

    // What swaks sent is what is stored: our Received header (saying how it came), then swaks' header block and body.
    private static async Task AssertStoredAsync(MailHost host, uint uid, string with, string from, string subject, string body)
    {
        await using var content = await host.Store.OpenContentAsync("alice@example.test", "INBOX", uid);
        var text = await new StreamReader(content).ReadToEndAsync();
        Assert.StartsWith("Received: from ", text, StringComparison.Ordinal);
        var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(headerEnd > 0, text);
        var headers = text[..(headerEnd + 2)];
        Assert.Contains(with, headers, StringComparison.Ordinal);
        Assert.Contains("\r\nTo: alice@example.test\r\n", headers, StringComparison.Ordinal);
        Assert.Contains($"\r\nFrom: {from}\r\n", headers, StringComparison.Ordinal);
        Assert.Contains($"\r\nSubject: {subject}\r\n", headers, StringComparison.Ordinal);
        Assert.Matches(@"\r\nMessage-Id: <[^>\r\n]+>\r\n", headers);
        // swaks ends its body with blank lines of its own.
        Assert.Equal(body, text[(headerEnd + 4)..].TrimEnd('\r', '\n'));
    }
}
