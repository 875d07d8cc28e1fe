"""Renders scanned-looking 维修委托书 pages for the OCR tests.

    python3 tests/ocr/page.py OUT_DIR SEED...

For each seed it writes, into OUT_DIR:

    page-SEED.jpg   the page, A4 at 200 dpi (1654 x 2339), greyscale JPEG quality 80
    page-SEED.png   the same pixels, lossless
    page-SEED.pdf   the same page as an image-only PDF (one JPEG, 200 dpi, A4)
    page-SEED.txt   the printed text, one line per printed line, UTF-8
    page-SEED.vin   the VIN printed on the page (17 characters, no newline)

The text varies with the seed (customer, plate, VIN, dates, mileage) and so do
the font sizes (34-42 px, title 56 px), a rotation of up to 1.5 degrees either
way, salt-and-pepper noise and a slight blur. The VIN carries a valid ISO 3779
check digit. The same seed gives the same files. Needs Pillow and Debian's
fonts-noto-cjk.
"""
import datetime
import os
import random
import sys
import time

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_INDEX = 2  # Noto Sans CJK SC
W, H, DPI = 1654, 2339, 200

VIN_VALUES = {c: v for chars, v0 in (("ABCDEFGH", 1), ("JKLMN", 1), ("P", 7), ("R", 9), ("STUVWXYZ", 2))
              for v, c in enumerate(chars, v0)}
VIN_VALUES.update({str(d): d for d in range(10)})
VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
VIN_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q


def vin_check_digit(vin):
    total = sum(VIN_VALUES[c] * w for c, w in zip(vin, VIN_WEIGHTS))
    return "X" if total % 11 == 10 else str(total % 11)


def make_vin(rng):
    wmi = rng.choice(["LFV", "LSV", "LBV", "LGB", "LVS", "LSG", "LHG", "LFM"])
    vds = "".join(rng.choice(VIN_LETTERS) for _ in range(5))
    year = rng.choice("KLMNPR")  # 2019-2024
    plant = rng.choice(VIN_LETTERS)
    serial = f"{rng.randrange(1000000):06d}"
    vin = wmi + vds + "0" + year + plant + serial
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def page_text(rng):
    vin = make_vin(rng)
    day = datetime.date(2026, 1, 1) + datetime.timedelta(days=rng.randrange(300))
    km = rng.randrange(5, 180) * 1000
    store, city, code = rng.choice([
        ("北京01店", "京", "BJ01"), ("上海03店", "沪", "SH03"),
        ("广州02店", "粤", "GZ02"), ("成都05店", "川", "CD05"),
    ])
    plate = f"{city}{rng.choice('ABCDEF')}·{rng.randrange(10000, 100000)}"
    fault, work = rng.choice([
        ("制动时有异响，刹车片磨损严重。", "更换前刹车片，检查制动液，四轮定位。"),
        ("发动机故障灯亮，怠速抖动。", "检查点火线圈，更换火花塞，清洗节气门。"),
        ("空调不制冷，出风口有异味。", "补充冷媒，更换空调滤芯，清洗蒸发箱。"),
        ("行驶中方向盘跑偏。", "四轮定位，检查轮胎气压，调整前束。"),
    ])
    lines = [
        f"维修委托书  {store}",
        f"委托书号：{code}-{day:%Y%m%d}-{rng.randrange(1, 1000):06d}  日期：{day:%Y-%m-%d}",
        f"客户：{rng.choice(['王伟', '李娜', '张敏', '刘洋', '陈静'])}  电话：1{rng.choice('3589')}{rng.randrange(10)}****{rng.randrange(10000):04d}",
        f"车牌：{plate}  VIN：{vin}",
        f"车型：{rng.choice(['大众帕萨特', '大众朗逸', '宝马3系', '日产轩逸', '别克英朗'])}  行驶里程：{km} 公里",
        f"故障描述：{fault}",
        f"维修项目：{work}",
        f"技师：{rng.choice(['李师傅', '赵师傅', '孙师傅'])}  质检：合格  试车正常",
        f"备注：客户要求保留旧件，下次保养里程 {km + 5000} 公里。",
    ]
    return lines, vin


def render(lines, rng):
    img = Image.new("L", (W, H), 255)
    draw = ImageDraw.Draw(img)
    y = 150
    for i, line in enumerate(lines):
        size = 56 if i == 0 else rng.choice([34, 38, 42])
        draw.text((140, y), line, font=ImageFont.truetype(FONT, size, index=FONT_INDEX), fill=0)
        y += size * 2
    img = img.rotate(rng.uniform(-1.5, 1.5), resample=Image.BICUBIC, fillcolor=255)
    px = img.load()
    for _ in range(W * H // 60):
        px[rng.randrange(W), rng.randrange(H)] = rng.choice([0, 128, 255])
    return img.filter(ImageFilter.GaussianBlur(0.6))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for seed in sys.argv[2:]:
        rng = random.Random(int(seed))
        lines, vin = page_text(rng)
        img = render(lines, rng)
        base = os.path.join(out, f"page-{seed}")
        img.save(base + ".jpg", quality=80, dpi=(DPI, DPI))
        img.save(base + ".png", dpi=(DPI, DPI))
        fixed = time.strptime("2026-01-01", "%Y-%m-%d")  # same bytes each run
        img.save(base + ".pdf", resolution=DPI, creationDate=fixed, modDate=fixed)
        with open(base + ".txt", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        with open(base + ".vin", "w", encoding="ascii") as f:
            f.write(vin)


if __name__ == "__main__":
    main()
