// The options of the idle-delivery and mixed modes (IdleDelivery.cs, MixedLoad.cs):
//   --smtp-port P    idle-delivery: where the messages are delivered (SMTP, or LMTP with --lmtp)
//   --lmtp           idle-delivery: speak LMTP (LHLO) instead of SMTP (EHLO)
//   --deliveries D   idle-delivery: messages delivered one after another (default 20)
//   --wait S         idle-delivery: seconds every client has to see a message's EXISTS (default 10)
//   --duration S     mixed: seconds of load (default 10)
//   --mailboxes A,B  mixed: the shared mailboxes (default INBOX)
//   --idle-ms M      mixed: how long an IDLE waits for an update before DONE (default 25)
// --clients (up to 1000), --messages (mixed: each mailbox's size at the start, default 20) and --seed are the
// common options.

using System.Globalization;

internal sealed partial class Options
{
    public int SmtpPort { get; private set; }
    public bool Lmtp { get; private set; }
    public int Deliveries { get; private set; } = 20;
    public int WaitSeconds { get; private set; } = 10;
    public int DurationSeconds { get; private set; } = 10;
    public string[] Mailboxes { get; private set; } = ["INBOX"];
    public int IdleMilliseconds { get; private set; } = 25;

    /// <summary>The size each mixed-load mailbox starts with (--messages, default 20).</summary>
    public int MailboxSize => Messages ?? 20;

    /// <summary>Takes one option of these modes; false if ARG is none of them.</summary>
    private bool ParseMore(string arg, Func<string> value)
    {
        int Number(int min, int max) =>
            int.TryParse(value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n
                : throw new FormatException($"{arg} needs a number from {min} to {max}");
        switch (arg)
        {
            case "--smtp-port": SmtpPort = Number(1, 65535); break;
            case "--lmtp": Lmtp = true; break;
            case "--deliveries": Deliveries = Number(1, 100_000); break;
            case "--wait": WaitSeconds = Number(1, 3600); break;
            case "--duration": DurationSeconds = Number(1, 3600); break;
            case "--mailboxes":
                Mailboxes = value().Split(',', StringSplitOptions.RemoveEmptyEntries);
                if (Mailboxes.Length == 0 || Mailboxes.Any(m => !m.All(char.IsAsciiLetterOrDigit)))
                {
                    throw new FormatException("--mailboxes needs names of letters and digits, separated by commas");
                }
                break;
            case "--idle-ms": IdleMilliseconds = Number(1, 60_000); break;
            default: return false;
        }
        return true;
    }

    /// <summary>The checks of these modes once every option is read.</summary>
    private void CheckMore()
    {
        if (Mode == "idle-delivery" && SmtpPort == 0)
        {
            throw new FormatException("idle-delivery needs --smtp-port");
        }
    }
}
