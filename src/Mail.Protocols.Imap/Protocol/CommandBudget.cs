namespace Mail.Protocols.Imap.Protocol;

/// <summary>What <see cref="CommandBudget"/> says about the next piece of a command.</summary>
internal enum CommandBudgetCheck
{
    /// <summary>Within the budget; the piece was charged.</summary>
    Allowed,
    /// <summary>The command would exceed <see cref="CommandBudget.MaxOctets"/>; nothing was charged.</summary>
    TooManyOctets,
    /// <summary>The command would have more than <see cref="CommandBudget.MaxLiterals"/> literals; nothing was charged.</summary>
    TooManyLiterals,
}

/// <summary>
/// The limit on one command made of several lines and literals (IMAP's <c>APPEND</c> with many messages, a
/// <c>SEARCH</c> with many literal strings): total octets and number of literals, on top of the limit per line.
/// The session calls <see cref="Reset"/> when a command starts, charges each line it reads and each literal
/// <em>before</em> it accepts it (before the go-ahead of a synchronising literal), and answers a refusal
/// with its protocol's error. A refused literal that the client sends anyway (IMAP's <c>{n+}</c>) is dropped
/// with <see cref="Connections.SessionIO.SkipLiteralAsync"/> or the connection is closed.
/// </summary>
internal sealed class CommandBudget
{
    /// <summary>Creates a budget of <paramref name="maxOctets"/> octets (line endings included) and <paramref name="maxLiterals"/> literals per command.</summary>
    public CommandBudget(long maxOctets, int maxLiterals)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxOctets);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLiterals);
        MaxOctets = maxOctets;
        MaxLiterals = maxLiterals;
    }

    /// <summary>The most octets one command may have, its lines (with their line endings) and literals together.</summary>
    public long MaxOctets { get; }

    /// <summary>The most literals one command may have.</summary>
    public int MaxLiterals { get; }

    /// <summary>The octets charged since the last <see cref="Reset"/>.</summary>
    public long Octets { get; private set; }

    /// <summary>The literals charged since the last <see cref="Reset"/>.</summary>
    public int Literals { get; private set; }

    /// <summary>Starts a new command.</summary>
    public void Reset()
    {
        Octets = 0;
        Literals = 0;
    }

    /// <summary>Charges one line of <paramref name="length"/> octets and its CRLF.</summary>
    public CommandBudgetCheck ChargeLine(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return ChargeOctets(length + 2L);
    }

    /// <summary>Charges one literal of <paramref name="length"/> octets, before it is read.</summary>
    public CommandBudgetCheck ChargeLiteral(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (Literals >= MaxLiterals)
        {
            return CommandBudgetCheck.TooManyLiterals;
        }
        var check = ChargeOctets(length);
        if (check == CommandBudgetCheck.Allowed)
        {
            Literals++;
        }
        return check;
    }

    private CommandBudgetCheck ChargeOctets(long octets)
    {
        if (octets > MaxOctets - Octets)
        {
            return CommandBudgetCheck.TooManyOctets;
        }
        Octets += octets;
        return CommandBudgetCheck.Allowed;
    }
}
