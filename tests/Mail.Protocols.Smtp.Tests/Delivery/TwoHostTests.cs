using System.Net;
using System.Text;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.Addressing;
using Mail.Protocols.Hosting;
using Mail.Protocols.InMemory;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Dns;
using Mail.Protocols.Smtp.Tests.Dns;
using MimeKit;

namespace Mail.Protocols.Smtp.Tests.Delivery;

/// <summary>
/// Two hosts on loopback exchange mail through real DNS, as two organisations do: host A (example.test, on
/// 127.0.0.1) takes a submission from MailKit for bob@mx.test, looks up mx.test's MX in dnsmasq (127.0.0.2),
/// relays it to host B there, and bob downloads it from B over POP3.
/// </summary>
public sealed class TwoHostTests(DnsmasqFixture dns) : IClassFixture<DnsmasqFixture>
{
    [Fact]
    public async Task Submission_on_one_host_is_relayed_by_mx_and_downloaded_over_pop3_from_the_other()
    {
        var bOptions = new MailHostOptions
        {
            BindAddress = IPAddress.Parse("127.0.0.2"), SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = null, ImapsPort = null,
            ServerName = "mail.mx.test", AllowPlaintextAuth = true,
        };
        bOptions.Domains.Add("mx.test");
        bOptions.Users.Add(("bob@mx.test", "bob"));
        await using var b = new MailHost(bOptions);
        await b.StartAsync();

        var resolver = new DnsResolverOptions { Timeout = TimeSpan.FromSeconds(2), Retries = 0 };
        resolver.NameServers.Add(dns.Server.EndPoint);
        var aOptions = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = 0, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null, ServerName = "mx.example.test",
            AllowPlaintextAuth = true,
            Delivery = new DeliveryAgentOptions { Port = b.EndPoints["smtp"].Port },
            DnsResolver = new DnsClientResolver(resolver),
            DeliveryPollInterval = TimeSpan.FromMilliseconds(100),
        };
        aOptions.Domains.Add("example.test");
        aOptions.Users.Add(("alice@example.test", "alice"));
        await using var a = new MailHost(aOptions);
        await a.StartAsync();

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("alice@example.test"));
        message.To.Add(MailboxAddress.Parse("bob@mx.test"));
        message.Subject = "Across organisations";
        message.Body = new TextPart("plain") { Text = "Hello Bob,\r\n.a line with a dot\r\nfrom Alice\r\n" };
        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync(a.EndPoints["submission"].Address.ToString(), a.EndPoints["submission"].Port, SecureSocketOptions.None);
            await smtp.AuthenticateAsync("alice@example.test", "alice");
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(true);
        }

        // The agent polls every 100 ms; give it up to 20 s on a busy machine. B stores the message before A hears
        // the 250 and completes its queue entry, so wait for both.
        for (var i = 0; i < 200 && ((await b.Store.ListMessagesAsync("bob@mx.test", "INBOX")).Count == 0 || await a.Queue.CountAsync() != 0); i++)
        {
            await Task.Delay(100);
        }
        Assert.Equal(0, await a.Queue.CountAsync());

        using var pop3 = new Pop3Client();
        await pop3.ConnectAsync(b.EndPoints["pop3"].Address.ToString(), b.EndPoints["pop3"].Port, SecureSocketOptions.None);
        await pop3.AuthenticateAsync("bob@mx.test", "bob");
        Assert.Equal(1, pop3.Count);
        await using var raw = new MemoryStream();
        await (await pop3.GetStreamAsync(0)).CopyToAsync(raw);
        await pop3.DisconnectAsync(true);

        var received = Encoding.ASCII.GetString(raw.ToArray());
        // One Received header from each host: A's (from MailKit) and, on top, B's (from A).
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(received, "^Received: ", System.Text.RegularExpressions.RegexOptions.Multiline));
        Assert.StartsWith("Received: from mx.example.test", received);
        // The body octets are exactly what MailKit sent.
        using var sent = new MemoryStream();
        await message.WriteToAsync(FormatOptions.Default.Clone(), sent);
        var sentText = Encoding.ASCII.GetString(sent.ToArray()).ReplaceLineEndings("\r\n");
        var sentBody = sentText[(sentText.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.EndsWith(sentBody, received);
        Assert.Equal("Across organisations", MimeMessage.Load(new MemoryStream(raw.ToArray())).Subject);
    }

    [Fact]
    public async Task A_forward_leaves_with_an_srs_sender_and_the_bounce_of_the_next_host_comes_back_through_it_to_the_writer()
    {
        // Host A (srs.test, 127.0.0.5) forwards fwd@ to gone@mx.test with SRS; host B (mx.test, 127.0.0.2) forwards
        // gone@ on to a domain that does not exist, gives up and bounces to the sender it was given: A's SRS
        // address. A turns that back into writer@mx.test and relays the bounce to B, where the writer reads it.
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var (a, b) = await StartPairAsync(log,
            (o, book) =>
            {
                book.AddAlias("fwd@srs.test", "gone@mx.test");
                o.SenderRewriting = new SenderRewritingOptions { Secret = "a secret of thirty-two octets ok"u8.ToArray(), Domain = "srs.test" };
            },
            (o, book) =>
            {
                o.Users.Add(("writer@mx.test", "writer"));
                book.AddAlias("gone@mx.test", "lost@nowhere.test");
            });
        await using var hostA = a;
        await using var hostB = b;

        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync("127.0.0.5", hostA.EndPoints["smtp"].Port, SecureSocketOptions.None);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("writer@mx.test"));
            message.To.Add(MailboxAddress.Parse("fwd@srs.test"));
            message.Subject = "Through the forwarder";
            message.Body = new TextPart("plain") { Text = "hello" };
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(true);
        }

        for (var i = 0; i < 300 && ((await hostB.Store.ListMessagesAsync("writer@mx.test", "INBOX")).Count == 0
            || await hostA.Queue.CountAsync() != 0 || await hostB.Queue.CountAsync() != 0); i++)
        {
            await Task.Delay(100);
        }
        var inbox = await hostB.Store.ListMessagesAsync("writer@mx.test", "INBOX");
        if (inbox.Count == 0)
        {
            var stuck = new List<string>();
            foreach (var (name, host) in new[] { ("A", hostA), ("B", hostB) })
            {
                foreach (var lease in await host.Queue.LeaseAsync(10, TimeSpan.FromSeconds(1)))
                {
                    stuck.Add($"{name}: <{lease.Envelope.ReversePath}> " + string.Join("; ", lease.Recipients.Select(r => $"{r.Recipient.Address} {r.State} {r.LastReply}")));
                }
            }
            Assert.Fail("The bounce did not arrive; queued: " + string.Join(" | ", stuck) + "\nlog:\n" + string.Join("\n", log));
        }
        var info = Assert.Single(inbox);
        await using var content = await hostB.Store.OpenContentAsync("writer@mx.test", "INBOX", info.Uid);
        var bounce = await MimeMessage.LoadAsync(content);
        // B's notice, addressed to the sender B was given: A's SRS form of the writer.
        Assert.Equal("Undelivered Mail Returned to Sender", bounce.Subject);
        Assert.Equal("MAILER-DAEMON@mail.mx.test", bounce.From.Mailboxes.Single().Address);
        var to = bounce.To.Mailboxes.Single().Address;
        Assert.StartsWith("SRS0=", to, StringComparison.Ordinal);
        Assert.EndsWith("=mx.test=writer@srs.test", to, StringComparison.Ordinal);
        var status = Assert.IsType<MessageDeliveryStatus>(Assert.IsType<MultipartReport>(bounce.Body)[1]);
        var group = Assert.Single(status.StatusGroups, g => g.Contains("Final-Recipient"));
        Assert.Equal("rfc822; lost@nowhere.test", group["Final-Recipient"]);
        Assert.Equal("5.1.2", group["Status"]);
        Assert.Equal(0, await hostA.Queue.CountAsync());
        Assert.Equal(0, await hostB.Queue.CountAsync());
    }

    [Fact]
    public async Task Aliases_on_two_hosts_that_forward_to_each_other_stop_at_the_hop_limit_and_the_writer_hears_of_it()
    {
        // A forwards loop@srs.test to loop@mx.test, B forwards it back: each pass adds a Received field until one host
        // refuses it (554 5.4.6), and the host that tried gives up and bounces to the writer.
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Looping(MailHostOptions o, InMemoryAddressBook book, string domain, string target)
        {
            book.AddAlias("loop@" + domain, target);
            o.Smtp.MaxReceivedFields = 12; // the RFC's 100 in tests would take 100 deliveries
            o.Users.Add(("writer@" + domain, "writer"));
        }
        var (a, b) = await StartPairAsync(log, (o, book) => Looping(o, book, "srs.test", "loop@mx.test"), (o, book) => Looping(o, book, "mx.test", "loop@srs.test"));
        await using var hostA = a;
        await using var hostB = b;

        using (var smtp = new SmtpClient())
        {
            await smtp.ConnectAsync("127.0.0.2", hostB.EndPoints["smtp"].Port, SecureSocketOptions.None);
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("writer@mx.test"));
            message.To.Add(MailboxAddress.Parse("loop@mx.test"));
            message.Subject = "Round and round";
            message.Body = new TextPart("plain") { Text = "hello" };
            await smtp.SendAsync(message);
            await smtp.DisconnectAsync(true);
        }

        for (var i = 0; i < 400 && ((await hostB.Store.ListMessagesAsync("writer@mx.test", "INBOX")).Count == 0
            || await hostA.Queue.CountAsync() != 0 || await hostB.Queue.CountAsync() != 0); i++)
        {
            await Task.Delay(100);
        }
        var info = Assert.Single(await hostB.Store.ListMessagesAsync("writer@mx.test", "INBOX"));
        await using var content = await hostB.Store.OpenContentAsync("writer@mx.test", "INBOX", info.Uid);
        var bounce = await MimeMessage.LoadAsync(content);
        Assert.Equal("Undelivered Mail Returned to Sender", bounce.Subject);
        var group = Assert.Single(Assert.IsType<MessageDeliveryStatus>(Assert.IsType<MultipartReport>(bounce.Body)[1]).StatusGroups, g => g.Contains("Final-Recipient"));
        Assert.Equal("5.4.6", group["Status"]);
        Assert.Contains("Too many hops", group["Diagnostic-Code"] ?? "", StringComparison.Ordinal);
        Assert.Equal(0, await hostA.Queue.CountAsync());
        Assert.Equal(0, await hostB.Queue.CountAsync());
        Assert.Empty(await hostA.Store.ListMessagesAsync("writer@srs.test", "INBOX"));
    }

    // Host A (srs.test on 127.0.0.5) and host B (mx.test on 127.0.0.2, dnsmasq's mail.mx.test), started on one port
    // number, since a delivery agent has one port for every destination; each relays to the other through dnsmasq.
    private async Task<(MailHost A, MailHost B)> StartPairAsync(System.Collections.Concurrent.ConcurrentQueue<string> log,
        Action<MailHostOptions, InMemoryAddressBook> configureA, Action<MailHostOptions, InMemoryAddressBook> configureB)
    {
        var resolver = new DnsResolverOptions { Timeout = TimeSpan.FromSeconds(2), Retries = 0 };
        resolver.NameServers.Add(dns.Server.EndPoint);
        MailHost Make(string address, string domain, int port, Action<MailHostOptions, InMemoryAddressBook> configure)
        {
            var book = new InMemoryAddressBook();
            var options = new MailHostOptions
            {
                BindAddress = IPAddress.Parse(address), SmtpPort = port, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null,
                ImapPort = null, ImapsPort = null, ServerName = "mail." + domain, AddressBook = book,
                Delivery = new DeliveryAgentOptions { Port = port }, DnsResolver = new DnsClientResolver(resolver),
                DeliveryPollInterval = TimeSpan.FromMilliseconds(50), LoggerFactory = new LineLogger(domain, log),
            };
            options.Domains.Add(domain);
            configure(options, book);
            return new MailHost(options);
        }
        for (var attempt = 0; ; attempt++)
        {
            var port = FreeTcpPort(IPAddress.Parse("127.0.0.5"));
            var a = Make("127.0.0.5", "srs.test", port, configureA);
            var b = Make("127.0.0.2", "mx.test", port, configureB);
            try
            {
                await a.StartAsync();
                await b.StartAsync();
                return (a, b);
            }
            catch (System.Net.Sockets.SocketException) when (attempt < 5)
            {
                await a.DisposeAsync();
                await b.DisposeAsync(); // the port was taken on one of the addresses meanwhile: another
            }
        }
    }

    private static int FreeTcpPort(IPAddress address)
    {
        using var listener = new System.Net.Sockets.TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // Both hosts' log lines, for the message of a failed assertion.
    private sealed class LineLogger(string name, System.Collections.Concurrent.ConcurrentQueue<string> lines) : Microsoft.Extensions.Logging.ILoggerFactory, Microsoft.Extensions.Logging.ILogger
    {
        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider) { }

        public void Dispose() { }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Information;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{name}: {formatter(state, exception)} {exception?.Message}");
    }
}
