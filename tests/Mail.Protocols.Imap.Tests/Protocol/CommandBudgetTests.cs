using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>The octets and literals one IMAP command may spend.</summary>
public sealed class CommandBudgetTests
{
    [Fact]
    public void A_command_budget_counts_lines_and_literals_and_refuses_what_exceeds_it()
    {
        var budget = new CommandBudget(maxOctets: 100, maxLiterals: 2);
        Assert.Equal(CommandBudgetCheck.Allowed, budget.ChargeLine(18));        // 20 with CRLF
        Assert.Equal(CommandBudgetCheck.Allowed, budget.ChargeLiteral(50));
        Assert.Equal(CommandBudgetCheck.TooManyOctets, budget.ChargeLiteral(31));
        Assert.Equal(CommandBudgetCheck.Allowed, budget.ChargeLiteral(30));
        Assert.Equal(CommandBudgetCheck.TooManyLiterals, budget.ChargeLiteral(0));
        Assert.Equal(CommandBudgetCheck.TooManyOctets, budget.ChargeLine(0));
        Assert.Equal(100, budget.Octets);
        Assert.Equal(2, budget.Literals);

        budget.Reset();
        Assert.Equal(CommandBudgetCheck.Allowed, budget.ChargeLiteral(98));
        Assert.Equal(CommandBudgetCheck.Allowed, budget.ChargeLine(0));
    }
}
