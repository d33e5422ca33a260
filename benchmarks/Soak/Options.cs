// The driver's command line (the comment at the top of Program.cs lists it).

using System.Globalization;

internal sealed class Options
{
    public string Host { get; private set; } = "127.0.0.1";
    public int SmtpPort { get; private set; }
    public int SubmissionPort { get; private set; }
    public int Pop3Port { get; private set; }
    public int ImapPort { get; private set; }
    public int RemotePop3Port { get; private set; }
    public List<string> Pop3Users { get; private set; } = [];
    public List<string> ImapUsers { get; private set; } = [];
    public string? IdleUser { get; private set; }
    public List<string> RemoteUsers { get; private set; } = [];
    public List<string> SubmitUsers { get; private set; } = [];
    public List<string> CheckUsers { get; private set; } = [];
    public string Password { get; private set; } = "soak";
    public int Seconds { get; private set; }
    public int Drain { get; private set; } = 300;
    public int SmtpSenders { get; private set; } = 4;
    public double SmtpRate { get; private set; } = 8;
    public int SubmissionSenders { get; private set; } = 2;
    public double SubmissionRate { get; private set; } = 2;
    public int Pop3Batch { get; private set; } = 50;
    public int SessionTimeoutSeconds { get; private set; } = 120;
    public int Seed { get; private set; } = 1;
    public int ProgressSeconds { get; private set; } = 10;
    public string? Summary { get; private set; }
    public string? Keep { get; private set; }

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{arg} needs a value");
            int Number(int min, int max) =>
                int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                    ? n
                    : throw new FormatException($"{arg} needs a number from {min} to {max}");
            double Rate() =>
                double.TryParse(Value(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var r) && r is > 0 and <= 10_000
                    ? r
                    : throw new FormatException($"{arg} needs a rate above 0");
            List<string> Users() => [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
            switch (arg)
            {
                case "--host": o.Host = Value(); break;
                case "--smtp-port": o.SmtpPort = Number(1, 65535); break;
                case "--submission-port": o.SubmissionPort = Number(1, 65535); break;
                case "--pop3-port": o.Pop3Port = Number(1, 65535); break;
                case "--imap-port": o.ImapPort = Number(1, 65535); break;
                case "--remote-pop3-port": o.RemotePop3Port = Number(1, 65535); break;
                case "--pop3-users": o.Pop3Users = Users(); break;
                case "--imap-users": o.ImapUsers = Users(); break;
                case "--idle-user": o.IdleUser = Value(); break;
                case "--remote-users": o.RemoteUsers = Users(); break;
                case "--submit-users": o.SubmitUsers = Users(); break;
                case "--check-users": o.CheckUsers = Users(); break;
                case "--password": o.Password = Value(); break;
                case "--seconds": o.Seconds = Number(1, 7 * 86_400); break;
                case "--drain": o.Drain = Number(1, 86_400); break;
                case "--smtp-senders": o.SmtpSenders = Number(0, 100); break;
                case "--smtp-rate": o.SmtpRate = Rate(); break;
                case "--submission-senders": o.SubmissionSenders = Number(0, 100); break;
                case "--submission-rate": o.SubmissionRate = Rate(); break;
                case "--pop3-batch": o.Pop3Batch = Number(1, 100_000); break;
                case "--session-timeout": o.SessionTimeoutSeconds = Number(1, 3600); break;
                case "--seed": o.Seed = Number(0, 1_000_000); break;
                case "--progress-seconds": o.ProgressSeconds = Number(1, 3600); break;
                case "--summary": o.Summary = Value(); break;
                case "--keep": o.Keep = Value(); break;
                default: throw new FormatException($"unknown option {arg}");
            }
        }
        if (o.Seconds == 0 || o.SmtpPort == 0 || o.Pop3Port == 0 || o.ImapPort == 0)
        {
            throw new FormatException("--seconds, --smtp-port, --pop3-port and --imap-port are needed");
        }
        if (o.Pop3Users.Count + o.ImapUsers.Count == 0)
        {
            throw new FormatException("local users (--pop3-users, --imap-users) are needed");
        }
        if (o.SubmissionSenders > 0 && (o.SubmissionPort == 0 || o.SubmitUsers.Count == 0 || o.RemoteUsers.Count == 0 || o.RemotePop3Port == 0))
        {
            throw new FormatException("submission needs --submission-port, --submit-users, --remote-users and --remote-pop3-port");
        }
        return o;
    }
}

internal sealed class ProtocolException(string message) : Exception(message);
