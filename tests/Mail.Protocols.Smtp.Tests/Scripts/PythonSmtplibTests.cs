using System.Diagnostics;
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
}
