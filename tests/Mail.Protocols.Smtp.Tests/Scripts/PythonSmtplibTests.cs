using System.Diagnostics;
using Mail.Protocols.Hosting;
using Mail.Protocols.InMemory;

namespace Mail.Protocols.Smtp.Tests.Scripts;

/// <summary>Python's smtplib against the host over loopback (python3 is installed by .ci/run).</summary>
public class PythonSmtplibTests
{
    [Fact]
    public async Task Python_smtplib_sends_on_mx_and_on_submission_after_starttls_and_auth()
    {
        var options = new MailHostOptions { SmtpPort = 0, SubmissionPort = 0, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        await using var host = new MailHost(options);
        await host.StartAsync();

        var script = Path.Combine(AppContext.BaseDirectory, "Scripts", "smtplib_client.py");
        var start = new ProcessStartInfo("python3")
        {
            ArgumentList = { script, host.EndPoints["smtp"].Port.ToString(), host.EndPoints["submission"].Port.ToString() },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"python failed:\n{await stdout}\n{await stderr}");
        Assert.Contains("OK mx", await stdout);
        Assert.Contains("OK submission", await stdout);

        var inbox = await host.Store.ListMessagesAsync("alice@example.test", "INBOX");
        Assert.Equal(2, inbox.Count);
        await using var content = await host.Store.OpenContentAsync("alice@example.test", "INBOX", inbox[0].Uid);
        var text = await new StreamReader(content).ReadToEndAsync();
        Assert.Contains("\r\n.leading dot line\r\n", text); // dot-stuffed by the client, unstuffed by us
        Assert.Equal(0, await host.Queue.CountAsync());
    }

    [Fact]
    public async Task Python_smtplib_verify_expn_help_and_a_verbose_data_reply()
    {
        var options = new MailHostOptions { SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null, Delivery = null };
        options.Domains.Add("example.test");
        options.Domains.Add("other.test");
        options.Users.Add(("alice@example.test", "alice"));
        options.Users.Add(("bob@example.test", "bob"));
        options.Users.Add(("alice@other.test", "alice2"));
        var book = new InMemoryAddressBook();
        book.AddAlias("sales@example.test", "alice@example.test", "far@remote.test");
        book.AddAlias("away@example.test", "bob@remote.test");
        book.AddList("crew@example.test", "bob@example.test", "alice@example.test", "sales@example.test", "far@remote.test");
        options.AddressBook = book;
        options.Smtp.Vrfy = AddressQueryMode.On;
        options.Smtp.Expn = AddressQueryMode.On;
        await using var host = new MailHost(options);
        await host.StartAsync();

        var (exitCode, stdout, stderr) = await RunPythonAsync("smtplib_vrfy_expn.py", host.EndPoints["smtp"].Port.ToString());
        Assert.True(exitCode == 0, $"python failed:\n{stdout}\n{stderr}");
        Assert.Contains("OK verify", stdout);
        Assert.Contains("OK expn", stdout);
        Assert.Contains("OK help", stdout);
        Assert.Contains("OK verb", stdout);
        Assert.Single(await host.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        Assert.Equal(1, await host.Queue.CountAsync());
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunPythonAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Scripts", script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
