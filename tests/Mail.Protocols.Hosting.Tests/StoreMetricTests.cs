using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Mail.Protocols.Telemetry;

namespace Mail.Protocols.Hosting.Tests;

/// <summary><c>mail.store.operation.duration</c>: the host's servers use the store through its latency metrics.</summary>
public sealed class StoreMetricTests
{
    [Fact]
    public async Task The_hosts_servers_time_their_store_calls_on_the_hosts_meters()
    {
        using var meters = new OwnMeters();
        var operations = new ConcurrentQueue<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "mail.store.operation.duration" && instrument.Meter.Name == MailMeters.Store && meters.Made.Contains(instrument.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) => operations.Enqueue((string)tags.ToArray().Single(t => t.Key == "mail.store.operation").Value!));
        listener.Start();
        var options = new MailHostOptions
        {
            SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = 0, ImapsPort = null,
            ServerName = "mx.example.test", AllowPlaintextAuth = true, MeterFactory = meters,
        };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        await using var host = new MailHost(options);
        await host.StartAsync();

        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync(host.EndPoints["smtp"].Address.ToString(), host.EndPoints["smtp"].Port, SecureSocketOptions.None);
            var message = new MimeMessage { Subject = "timed", Body = new TextPart("plain") { Text = "hello" } };
            message.From.Add(MailboxAddress.Parse("carol@example.org"));
            message.To.Add(MailboxAddress.Parse("alice@example.test"));
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(quit: true);
        }
        Assert.Contains("append", operations);
        using (var imap = new ImapClient())
        {
            await imap.ConnectAsync(host.EndPoints["imap"].Address.ToString(), host.EndPoints["imap"].Port, SecureSocketOptions.None);
            await imap.AuthenticateAsync("alice@example.test", "alice");
            await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
            Assert.Equal("timed", (await imap.Inbox.GetMessageAsync(0)).Subject);
            await imap.DisconnectAsync(quit: true);
        }
        await host.StopAsync();

        Assert.Contains("open_folder", operations);
        Assert.Contains("open_content", operations);
    }
}
