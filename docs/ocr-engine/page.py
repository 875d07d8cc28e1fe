# Renders a printed 委托书-like A4 page at 200 dpi from known text, slight rotation and noise.
import random, sys
from PIL import Image, ImageDraw, ImageFont, ImageFilter
random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
lines = [
 "维修委托书  北京01店",
 "委托书号：BJ01-20260301-000123  日期：2026-03-01",
 "客户：王伟  电话：138****1234",
 "车牌：京A·12345  VIN：LFV2A21K2M3000001",
 "车型：大众帕萨特  行驶里程：42000 公里",
 "故障描述：制动时有异响，刹车片磨损严重。",
 "维修项目：更换前刹车片，检查制动液，四轮定位。",
 "技师：李师傅  质检：合格  试车正常",
 "备注：客户要求保留旧件，下次保养里程 47000 公里。",
]
W, H = 1654, 2339
img = Image.new("L", (W, H), 255)
d = ImageDraw.Draw(img)
y = 150
for i, t in enumerate(lines):
    size = 56 if i == 0 else random.choice([34, 38, 42])
    f = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", size, index=2)
    d.text((140, y), t, font=f, fill=0)
    y += int(size * 2.0)
img = img.rotate(random.uniform(-1.5, 1.5), fillcolor=255, resample=Image.BICUBIC)
px = img.load()
for _ in range(W * H // 60):
    x, yy = random.randrange(W), random.randrange(H)
    px[x, yy] = random.choice([0, 255, 128])
img = img.filter(ImageFilter.GaussianBlur(0.6))
img.save(sys.argv[1], quality=80)
open(sys.argv[1] + ".txt", "w").write("\n".join(lines))
