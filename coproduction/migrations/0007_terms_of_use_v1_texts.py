"""Version 1 of the Co-creation Terms of Use in Brazilian Portuguese and Spanish: the same legal
text (acceptances point at the version), read in the reader's language."""

from django.db import migrations

TEXTS_V1 = {
    "pt-br": (
        "Termos de Uso da Coprodução",
        """1. O Produtor principal continua responsável pelo produto perante os compradores e as autoridades fiscais e regulatórias.
2. Somente o Produtor principal altera o produto e as configurações da coprodução. Toda alteração em uma coprodução ativa, inclusive o seu encerramento, precisa da aprovação do Coprodutor.
3. O Coprodutor recebe a porcentagem combinada das vendas abrangidas pelo contrato, somente das vendas pagas depois que o convite for aceito e enquanto o contrato estiver em vigor, ou pela recuperação automática de vendas quando o contrato a prever.
4. O Produtor principal fica com pelo menos 30 % de cada venda; os coprodutores dividem no máximo 70 % de cada tipo de venda.
5. A receita é dividida automaticamente pela plataforma no momento do pagamento; reembolsos e chargebacks são estornados na mesma proporção.
6. A coprodução termina na sua data de término, se houver, ou quando as duas partes concordarem em encerrá-la. A plataforma não encerra coproduções unilateralmente.
7. O Coprodutor vê o histórico de vendas do produto e as próprias comissões, e não pode alterar as configurações do produto.""",
    ),
    "es": (
        "Términos de Uso de la coproducción",
        """1. El Productor principal sigue siendo responsable del producto ante los compradores y las autoridades fiscales y regulatorias.
2. Solo el Productor principal modifica el producto y la configuración de la coproducción. Todo cambio en una coproducción activa, incluida su finalización, necesita la aprobación del Coproductor.
3. El Coproductor recibe el porcentaje acordado de las ventas que cubre el contrato, solo de las ventas pagadas después de aceptar la invitación y mientras el contrato esté vigente, o mediante la recuperación automática de ventas cuando el contrato la prevea.
4. El Productor principal conserva al menos el 30 % de cada venta; los coproductores comparten como máximo el 70 % de cada tipo de venta.
5. La plataforma divide los ingresos automáticamente en el momento del pago; los reembolsos y contracargos se revierten en la misma proporción.
6. La coproducción termina en su fecha de finalización, si la tiene, o cuando ambas partes acuerdan finalizarla. La plataforma no finaliza coproducciones de forma unilateral.
7. El Coproductor ve el historial de ventas del producto y sus propias comisiones, y no puede modificar la configuración del producto.""",
    ),
}


def publish(apps, schema_editor):
    TermsOfUse = apps.get_model("coproduction", "TermsOfUse")
    TermsOfUseText = apps.get_model("coproduction", "TermsOfUseText")
    terms = TermsOfUse.objects.filter(version=1).first()
    if terms is None:
        return
    for language, (title, body) in TEXTS_V1.items():
        TermsOfUseText.objects.get_or_create(
            terms=terms, language=language, defaults={"title": title, "body": body}
        )


class Migration(migrations.Migration):
    dependencies = [("coproduction", "0006_terms_of_use_texts")]
    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
